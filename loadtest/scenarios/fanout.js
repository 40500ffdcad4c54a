/**
 * Session fan-out: one sender, many receivers in one session.
 * Target: 100,000 deliveries/s (1,000 receivers x 100 msg/s) with delivery p99 <= 50 ms.
 *
 *   k6 run loadtest/scenarios/fanout.js
 *   k6 run -e RECEIVERS=100 -e SEND_RATE=20 -e DURATION=20s loadtest/scenarios/fanout.js
 *
 * Env: RECEIVERS (1000), SOCKETS_PER_VU (50), SEND_RATE msg/s from the sender (100), WARMUP
 * (30s: receivers connect and join), DURATION (1m), DRAIN (5s), P99_MS (50), plus the connection
 * settings of lib/k6-socket.js. With BASE_URLS the receivers spread over the nodes and the
 * sender sits on the first.
 *
 * The deliveries/s target becomes a count over the sending window: receivers x SEND_RATE x
 * DURATION deliveries (6,000,000 by default), at least 99% of them, and no seq gap on any
 * receiver (a message lost in the middle of the stream).
 */
import exec from "k6/execution";
import { Counter } from "k6/metrics";
import { clearInterval, setInterval, setTimeout } from "k6/timers";
import {
  atScenarioTime,
  createSession,
  joinSession,
  loadConfig,
  openSocket,
  sendChatMessage,
  seqTracker,
  tokenFor,
  trackMessages,
} from "../lib/k6-socket.js";
import { SCENARIOS } from "../lib/scenarios.js";
import { formatDuration, pickNode, safeId } from "../lib/util.js";

const config = loadConfig();
const e = config.env;
const TARGET = SCENARIOS.fanout;
const RECEIVERS = e.int("RECEIVERS", TARGET.receivers);
const SOCKETS_PER_VU = e.int("SOCKETS_PER_VU", 50);
const SEND_RATE = e.num("SEND_RATE", TARGET.sendRate);
const WARMUP = e.ms("WARMUP", "30s");
const DURATION = e.ms("DURATION", formatDuration(TARGET.durationMs));
const DRAIN = e.ms("DRAIN", "5s");
const RECEIVER_VUS = Math.ceil(RECEIVERS / SOCKETS_PER_VU);
const EXPECTED = Math.floor(RECEIVERS * SEND_RATE * (DURATION / 1000));
const MAX_DURATION = formatDuration(WARMUP + DURATION + DRAIN + 60000);

const gaps = new Counter("sio_seq_gaps");

export const options = {
  setupTimeout: "2m",
  scenarios: {
    receivers: {
      executor: "per-vu-iterations",
      exec: "receivers",
      vus: RECEIVER_VUS,
      iterations: 1,
      maxDuration: MAX_DURATION,
    },
    sender: {
      executor: "per-vu-iterations",
      exec: "sender",
      vus: 1,
      iterations: 1,
      maxDuration: MAX_DURATION,
    },
  },
  thresholds: {
    "message_latency{scenario:receivers}": [`p(99)<=${e.num("P99_MS", TARGET.p99Ms)}`],
    "sio_messages_received{scenario:receivers}": [
      `count>=${Math.floor(EXPECTED * TARGET.minDeliveredShare)}`,
    ],
    "sio_acks{event:message}": [`count>=${Math.floor(SEND_RATE * (DURATION / 1000) * 0.99)}`],
    sio_seq_gaps: ["count==0"],
    sio_ack_errors: ["count==0"],
    sio_ack_timeouts: ["count==0"],
    sio_connect_errors: ["count==0"],
    sio_unexpected_disconnects: ["count==0"],
  },
};

export function setup() {
  const sender = tokenFor(config, safeId("fanout", config.runId, "sender"), "agent");
  const agent = tokenFor(config, safeId("fanout", config.runId, "ra"), "agent");
  const user = tokenFor(config, safeId("fanout", config.runId, "ru"), "user");
  const members = [agent.sub, user.sub].filter((sub) => sub !== sender.sub);
  const session = createSession(config, sender.token, members, "k6 fan-out");
  return { sessionId: session.id, sender, agent, user };
}

export function receivers(data) {
  const first = (exec.vu.idInTest - 1) * SOCKETS_PER_VU;
  const count = Math.min(SOCKETS_PER_VU, RECEIVERS - first);
  const handles = [];
  for (let i = 0; i < count; i++) {
    const index = first + i;
    const target = pickNode(config, index);
    const agent = index % 2 === 0;
    setTimeout(
      () => {
        const trackers = {};
        const handle = openSocket({
          baseUrl: target.baseUrl,
          headers: target.headers,
          node: target.node,
          nsp: agent ? "/agents" : "/clients",
          token: agent ? data.agent.token : data.user.token,
          onConnect: (h) =>
            joinSession(h, data.sessionId, undefined, config.ackTimeoutMs, (res) => {
              if (res) trackers[data.sessionId] = seqTracker(res.headSeq);
            }),
        });
        handle.trackers = trackers;
        trackMessages(handle, trackers);
        handles.push(handle);
      },
      Math.random() * (WARMUP / 2),
    );
  }
  atScenarioTime(WARMUP + DURATION + DRAIN, () => {
    for (const handle of handles) {
      const tracker = handle.trackers[data.sessionId];
      if (tracker) gaps.add(tracker.gaps());
      handle.close();
    }
  });
}

export function sender(data) {
  const target = pickNode(config, 0);
  const handle = openSocket({
    baseUrl: target.baseUrl,
    headers: target.headers,
    node: target.node,
    nsp: "/agents",
    token: data.sender.token,
  });
  // Paced by the clock, not by the timer: k6 timers drift, the count per elapsed time must not.
  // Exactly SEND_RATE x DURATION messages go out, the last ones at the end of the window.
  let startedAt = 0;
  let sent = 0;
  let interval;
  const sendDue = (elapsedMs) => {
    const due = Math.floor((Math.min(elapsedMs, DURATION) * SEND_RATE) / 1000) - sent;
    for (let i = 0; i < due; i++) {
      sent++;
      if (handle.connected) sendChatMessage(handle, data.sessionId, config);
    }
  };
  atScenarioTime(WARMUP, () => {
    startedAt = Date.now();
    interval = setInterval(() => sendDue(Date.now() - startedAt), Math.max(5, 1000 / SEND_RATE));
  });
  atScenarioTime(WARMUP + DURATION, () => {
    clearInterval(interval);
    sendDue(DURATION);
  });
  atScenarioTime(WARMUP + DURATION + DRAIN, () => handle.close());
}
