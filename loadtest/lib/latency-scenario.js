/**
 * Send-to-receive latency across users and agents sharing sessions. Shared by
 * scenarios/message-latency.js (one node or many) and scenarios/cross-node.js (sockets spread
 * over several nodes, thresholds on the cross-node deliveries).
 *
 * Shape: SOCKETS sockets in groups of GROUP_SIZE, one session per group, alternating /agents and
 * /clients. One k6 VU owns one whole group, so at the end it knows exactly how many deliveries
 * its group should have seen (every acked message reaches the other GROUP_SIZE - 1 sockets) and
 * reports any shortfall as `sio_lost_messages`. Every socket sends at RATE / SOCKETS messages a
 * second, with a random phase, during DURATION after WARMUP.
 */
import exec from "k6/execution";
import { Counter } from "k6/metrics";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "k6/timers";
import {
  atScenarioTime,
  joinSession,
  loadConfig,
  openSocket,
  sendChatMessage,
  seqTracker,
  setupGroups,
  trackMessages,
} from "./k6-socket.js";
import { SCENARIOS } from "./scenarios.js";
import { formatDuration, pickNode } from "./util.js";

const lost = new Counter("sio_lost_messages");
const gaps = new Counter("sio_seq_gaps");

/**
 * @param {{ name: string, sockets: number, rate: number, crossNode: boolean }} defaults
 */
export function latencyScenario(defaults) {
  const config = loadConfig();
  const e = config.env;
  const sockets = e.int("SOCKETS", defaults.sockets);
  const defined = SCENARIOS.latency;
  const groupSize = Math.max(2, e.int("GROUP_SIZE", defined.groupSize));
  const rate = e.num("RATE", defaults.rate);
  const warmupMs = e.ms("WARMUP", "30s");
  const durationMs = e.ms("DURATION", formatDuration(defined.durationMs));
  const drainMs = e.ms("DRAIN", "5s");
  const connectSpreadMs = e.ms("CONNECT_SPREAD", "10s");
  const groups = Math.ceil(sockets / groupSize);
  const periodMs = (sockets / rate) * 1000;
  const nodes = config.machines.length || config.baseUrls.length;
  if (defaults.crossNode && nodes < 2) {
    throw new Error("cross-node needs BASE_URLS with two or more nodes, or FLY_MACHINES");
  }
  const expectedSent = Math.floor((rate * durationMs) / 1000);

  const latency = defaults.crossNode
    ? { "message_latency{cross:yes}": [`p(99)<=${e.num("P99_MS", SCENARIOS.crossNode.p99Ms)}`] }
    : {
        message_latency: [
          `p(50)<=${e.num("P50_MS", defined.p50Ms)}`,
          `p(99)<=${e.num("P99_MS", defined.p99Ms)}`,
        ],
      };

  const options = {
    setupTimeout: "5m",
    scenarios: {
      [defaults.name]: {
        executor: "per-vu-iterations",
        vus: groups,
        iterations: 1,
        maxDuration: formatDuration(warmupMs + durationMs + drainMs + 60000),
      },
    },
    thresholds: Object.assign(latency, {
      // The offered load really was offered: most of RATE x DURATION sent and acked.
      "sio_acks{event:message}": [`count>=${Math.floor(expectedSent * defined.minAckedShare)}`],
      sio_ack_errors: ["count==0"],
      sio_ack_timeouts: ["count==0"],
      sio_lost_messages: ["count==0"],
      sio_seq_gaps: ["count==0"],
      sio_connect_errors: ["count==0"],
      sio_unexpected_disconnects: ["count==0"],
    }),
  };

  function setup() {
    return { groups: setupGroups(config, groups, defaults.name) };
  }

  function run(data) {
    const g = exec.vu.idInTest - 1;
    const group = data.groups[g % data.groups.length];
    const members = [];
    /** Every acked message of the group: its seq and the member that sent it. */
    const acked = [];
    for (let i = 0; i < groupSize; i++) {
      const target = pickNode(config, g * groupSize + i);
      const agent = i % 2 === 0;
      const member = { index: i, handle: undefined, tracker: undefined, trackers: {}, received: 0 };
      members.push(member);
      setTimeout(
        () => {
          member.handle = openSocket({
            baseUrl: target.baseUrl,
            headers: target.headers,
            node: target.node,
            nsp: agent ? "/agents" : "/clients",
            token: agent ? group.agent.token : group.user.token,
            onConnect: (h) =>
              joinSession(h, group.sessionId, undefined, config.ackTimeoutMs, (res) => {
                if (!res) return;
                member.tracker = seqTracker(res.headSeq);
                member.trackers[group.sessionId] = member.tracker;
              }),
          });
          trackMessages(member.handle, member.trackers, () => member.received++);
        },
        Math.random() * Math.min(connectSpreadMs, warmupMs / 2),
      );
    }

    const send = (member) => {
      if (!member.handle?.connected) return;
      sendChatMessage(member.handle, group.sessionId, config, undefined, (ack) => {
        if (!ack) return;
        acked.push({ seq: ack.seq, from: member.index });
        // A socket never receives its own messages: mark their seqs seen.
        if (member.tracker) member.tracker.add(ack.seq);
      });
    };

    atScenarioTime(warmupMs, () => {
      for (const member of members) {
        member.start = setTimeout(() => {
          send(member);
          member.interval = setInterval(() => send(member), periodMs);
        }, Math.random() * Math.min(periodMs, durationMs));
      }
    });
    atScenarioTime(warmupMs + durationMs, () => {
      for (const member of members) {
        clearTimeout(member.start);
        if (member.interval !== undefined) clearInterval(member.interval);
      }
    });
    atScenarioTime(warmupMs + durationMs + drainMs, () => {
      for (const member of members) {
        if (member.tracker) {
          // Every acked message of the others committed after this socket joined must have
          // reached it: the delivery contract of PROTOCOL.md section 5, live.
          const joinedAt = member.tracker.start;
          let expected = 0;
          for (const a of acked) if (a.from !== member.index && a.seq > joinedAt) expected++;
          if (member.received < expected) lost.add(expected - member.received);
          gaps.add(member.tracker.gaps());
        }
        if (member.handle) member.handle.close();
      }
    });
  }

  return { options, setup, run };
}
