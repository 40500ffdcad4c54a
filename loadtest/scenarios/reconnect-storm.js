/**
 * Reconnect storm: every socket drops at the same moment, reconnects, rejoins with `lastSeq`
 * and must end up with every message of its session (PROTOCOL.md section 5).
 *
 *   k6 run loadtest/scenarios/reconnect-storm.js
 *   k6 run -e SOCKETS=500 -e STORMS=2 -e STORM_EVERY=20s loadtest/scenarios/reconnect-storm.js
 *
 * Each VU owns one session and SOCKETS_PER_VU sockets in it. Its first socket is a steady
 * producer: it sends a message every SEND_EVERY and rides out the storms. A storm closes every
 * other WebSocket at once without a Socket.IO goodbye (the server sees `transport close`, as for
 * a dropped network); they stay down STORM_DOWNTIME, so messages go by meanwhile, then all
 * reconnect together, each after a further random 0..STORM_SPREAD ms, and rejoin with `lastSeq`.
 * A socket the server drops (a node killed by hand during the run) reconnects the same way, to
 * the next node in BASE_URLS. At the end every socket syncs to the head: a message found then
 * reached it neither live nor through its rejoins, and counts in `sio_seq_gaps`.
 *
 * Env: SOCKETS (5000), SOCKETS_PER_VU (100), WARMUP (30s), STORMS (3), STORM_EVERY (30s),
 * STORM_DOWNTIME (1s), STORM_SPREAD (0ms), SETTLE (20s after the last storm), SEND_EVERY (200ms),
 * RECONNECT_DEADLINE
 * (30s), DRAIN (3s between the last send and the final sync), FINAL_WAIT (10s for the final
 * sync), plus the connection settings of lib/k6-socket.js.
 */
import exec from "k6/execution";
import { Counter, Trend } from "k6/metrics";
import { clearInterval, setInterval, setTimeout } from "k6/timers";
import {
  atScenarioTime,
  joinSession,
  loadConfig,
  openSocket,
  sendChatMessage,
  seqTracker,
  setupGroups,
  syncAll,
  trackMessages,
} from "../lib/k6-socket.js";
import { formatDuration, pickNode } from "../lib/util.js";

const config = loadConfig();
const e = config.env;
const SOCKETS = e.int("SOCKETS", 5000);
const PER_VU = e.int("SOCKETS_PER_VU", 100);
const WARMUP = e.ms("WARMUP", "30s");
const STORMS = e.int("STORMS", 3);
const STORM_EVERY = e.ms("STORM_EVERY", "30s");
const STORM_DOWNTIME = e.ms("STORM_DOWNTIME", "1s");
const STORM_SPREAD = e.ms("STORM_SPREAD", "0ms");
const SETTLE = e.ms("SETTLE", "20s");
const SEND_EVERY = e.ms("SEND_EVERY", "200ms");
const DEADLINE = e.ms("RECONNECT_DEADLINE", "30s");
const VUS = Math.ceil(SOCKETS / PER_VU);
const STOP_SENDING = WARMUP + (STORMS - 1) * STORM_EVERY + SETTLE;
const FINAL_SYNC = STOP_SENDING + e.ms("DRAIN", "3s");
const END = FINAL_SYNC + e.ms("FINAL_WAIT", "10s");

const reconnectTime = new Trend("reconnect_time", true);
const reconnects = new Counter("reconnects");
const reconnectFailures = new Counter("reconnect_failures");
const resynced = new Counter("resynced_messages");
const gaps = new Counter("sio_seq_gaps");

export const options = {
  setupTimeout: "5m",
  scenarios: {
    reconnect_storm: {
      executor: "per-vu-iterations",
      vus: VUS,
      iterations: 1,
      maxDuration: formatDuration(END + 60000),
    },
  },
  thresholds: {
    reconnect_time: ["p(95)<=2000", "p(99)<=5000"],
    reconnects: [`count>=${VUS * (PER_VU - 1) * STORMS}`],
    // Messages went by while the sockets were down, and the rejoins brought them back.
    resynced_messages: ["count>0"],
    reconnect_failures: ["count==0"],
    sio_seq_gaps: ["count==0"],
    "sio_ack_errors{event:join_session}": ["count==0"],
  },
};

export function setup() {
  return { groups: setupGroups(config, VUS, "storm") };
}

export default function (data) {
  const vu = exec.vu.idInTest - 1;
  const group = data.groups[vu % data.groups.length];
  const sessionId = group.sessionId;
  const count = Math.min(PER_VU, SOCKETS - vu * PER_VU);
  const members = [];
  let ending = false;

  function connect(member) {
    const target = pickNode(config, member.index + member.attempts);
    const agent = member.index % 2 === 0;
    const handle = openSocket({
      baseUrl: target.baseUrl,
      headers: target.headers,
      node: target.node,
      nsp: agent ? "/agents" : "/clients",
      token: agent ? group.agent.token : group.user.token,
      onConnect: (h) => {
        const lastSeq = member.tracker ? member.tracker.contiguous : undefined;
        joinSession(h, sessionId, lastSeq, config.ackTimeoutMs, (res) => {
          if (!res) {
            h.close();
            return retry(member);
          }
          if (!member.tracker) {
            member.tracker = seqTracker(res.headSeq);
            member.trackers[sessionId] = member.tracker;
          }
          for (const m of res.messages || []) if (member.tracker.add(m.seq)) resynced.add(1);
          const finish = () => {
            if (member.dropAt !== undefined) {
              reconnectTime.add(Date.now() - member.dropAt);
              reconnects.add(1);
              member.dropAt = undefined;
            }
            member.attempts = 0;
          };
          if (!res.hasMore) return finish();
          const after = res.messages[res.messages.length - 1].seq;
          syncAll(
            h,
            sessionId,
            after,
            config.ackTimeoutMs,
            (page) => {
              for (const m of page) if (member.tracker.add(m.seq)) resynced.add(1);
            },
            finish,
          );
        });
      },
      onConnectError: () => retry(member),
      onDisconnect: (_reason, expected) => {
        if (expected || ending) return;
        // The server went away (a node killed by hand): reconnect like after a storm.
        member.dropAt = Date.now();
        retry(member);
      },
    });
    trackMessages(handle, member.trackers);
    member.handle = handle;
  }

  function retry(member) {
    if (ending) return;
    if (member.dropAt !== undefined && Date.now() - member.dropAt > DEADLINE) {
      reconnectFailures.add(1);
      member.dropAt = undefined;
      return;
    }
    member.attempts++;
    const backoff = Math.min(5000, 100 * 2 ** member.attempts) * (0.5 + Math.random() / 2);
    setTimeout(() => connect(member), backoff);
  }

  for (let i = 0; i < count; i++) {
    const member = {
      index: vu * PER_VU + i,
      attempts: 0,
      handle: undefined,
      tracker: undefined,
      trackers: {},
      dropAt: undefined,
    };
    members.push(member);
    setTimeout(() => connect(member), Math.random() * (WARMUP / 2));
  }

  const sender = setInterval(() => {
    const first = members[0];
    if (!first.handle?.connected || !first.tracker) return;
    sendChatMessage(first.handle, sessionId, config, undefined, (ack) => {
      // A socket never receives its own messages: mark their seqs seen.
      if (ack) first.tracker.add(ack.seq);
    });
  }, SEND_EVERY);

  for (let s = 0; s < STORMS; s++) {
    atScenarioTime(WARMUP + s * STORM_EVERY, () => {
      // members[0], the producer, rides the storm out.
      for (const member of members.slice(1)) {
        if (!member.handle?.connected) continue;
        member.dropAt = Date.now();
        // Close the WebSocket under the client: the server sees `transport close`.
        member.handle.closing = true;
        member.handle.ws.close();
        setTimeout(() => connect(member), STORM_DOWNTIME + Math.random() * STORM_SPREAD);
      }
    });
  }

  atScenarioTime(STOP_SENDING, () => clearInterval(sender));
  atScenarioTime(FINAL_SYNC, () => {
    for (const member of members) {
      if (!member.tracker || !member.handle?.connected) continue;
      syncAll(
        member.handle,
        sessionId,
        member.tracker.contiguous,
        config.ackTimeoutMs,
        (page) => {
          // Anything new here reached the socket neither live nor through its rejoins.
          for (const m of page) if (member.tracker.add(m.seq)) gaps.add(1);
        },
        (headSeq) => {
          if (headSeq !== undefined) gaps.add(Math.max(0, headSeq - member.tracker.contiguous));
        },
      );
    }
  });
  atScenarioTime(END, () => {
    ending = true;
    for (const member of members) member.handle?.close();
  });
}
