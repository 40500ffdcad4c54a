/**
 * Concurrent connections: ramp from 1,000 to 10,000 sockets, hold them, and lose none.
 *
 *   k6 run loadtest/scenarios/connections.js
 *   k6 run -e START_CONNECTIONS=100 -e CONNECTIONS=1000 -e RAMP=30s -e HOLD=1m \
 *     loadtest/scenarios/connections.js
 *
 * Each VU holds SOCKETS_PER_VU sockets (k6/websockets runs many per VU), half on /agents and
 * half on /clients, each joined to one of SESSIONS sessions and sending a `ping` every
 * PING_EVERY so the held connections carry traffic. Every socket stays open until the end of
 * HOLD; a socket that goes away before that counts in `sio_unexpected_disconnects`.
 *
 * Env: CONNECTIONS (10000), START_CONNECTIONS (1000), SOCKETS_PER_VU (100), START_HOLD (30s at
 * START_CONNECTIONS), RAMP (3m), HOLD (5m), SESSIONS (100), PING_EVERY (30s), plus the
 * connection settings of lib/k6-socket.js.
 *
 * Passing means: `sio_connected` reached CONNECTIONS, no connect error, no unexpected
 * disconnect. Since no socket closes before the hold ends, all of them were open at once.
 */

import { sleep } from "k6";
import exec from "k6/execution";
import { clearInterval, setInterval, setTimeout } from "k6/timers";
import {
  atScenarioTime,
  joinSession,
  loadConfig,
  openSocket,
  recordAck,
  scenarioElapsed,
  setupGroups,
} from "../lib/k6-socket.js";
import { SCENARIOS } from "../lib/scenarios.js";
import { formatDuration, pickNode } from "../lib/util.js";

const config = loadConfig();
const e = config.env;
const TARGET = SCENARIOS.connections;
const CONNECTIONS = e.int("CONNECTIONS", TARGET.sockets);
const START = e.int("START_CONNECTIONS", TARGET.startSockets);
const PER_VU = e.int("SOCKETS_PER_VU", 100);
const START_HOLD = e.ms("START_HOLD", "30s");
const RAMP = e.ms("RAMP", "3m");
const HOLD = e.ms("HOLD", formatDuration(TARGET.holdMs));
const SESSIONS = e.int("SESSIONS", 100);
const PING_EVERY = e.ms("PING_EVERY", "30s");
const START_VUS = Math.max(1, Math.ceil(START / PER_VU));
const PEAK_VUS = Math.ceil(CONNECTIONS / PER_VU);
/** When every socket closes, in ms after the scenario start. */
const END = START_HOLD + RAMP + HOLD;

export const options = {
  setupTimeout: "5m",
  scenarios: {
    connections: {
      executor: "ramping-vus",
      startVUs: START_VUS,
      stages: [
        { duration: formatDuration(START_HOLD), target: START_VUS },
        { duration: formatDuration(RAMP), target: PEAK_VUS },
        { duration: formatDuration(HOLD), target: PEAK_VUS },
      ],
      gracefulRampDown: "30s",
      gracefulStop: "60s",
    },
  },
  thresholds: {
    sio_connected: [`count>=${PEAK_VUS * PER_VU}`],
    sio_connect_errors: ["count==0"],
    sio_unexpected_disconnects: ["count==0"],
    sio_connect_time: [`p(95)<=${TARGET.connectP95Ms}`, `p(99)<=${TARGET.connectP99Ms}`],
    "sio_ack_timeouts{event:ping}": ["count==0"],
  },
};

export function setup() {
  return { groups: setupGroups(config, SESSIONS, "conn") };
}

export default function (data) {
  if (scenarioElapsed() >= END) {
    // Only once the hold is over can an iteration end: nothing to do then.
    sleep(1);
    return;
  }
  const vu = exec.vu.idInTest - 1;
  const handles = [];
  // Open this VU's sockets over a few seconds, not in one burst.
  const spread = Math.min(5000, Math.max(0, END - scenarioElapsed()) / 4);
  for (let i = 0; i < PER_VU; i++) {
    const index = vu * PER_VU + i;
    const target = pickNode(config, index);
    const group = data.groups[index % data.groups.length];
    const agent = index % 2 === 0;
    setTimeout(
      () => {
        if (scenarioElapsed() >= END) return;
        handles.push(
          openSocket({
            baseUrl: target.baseUrl,
            headers: target.headers,
            node: target.node,
            nsp: agent ? "/agents" : "/clients",
            token: agent ? group.agent.token : group.user.token,
            onConnect: (h) => joinSession(h, group.sessionId, undefined, config.ackTimeoutMs, noop),
          }),
        );
      },
      (spread * i) / PER_VU,
    );
  }
  const pinger = setInterval(() => {
    for (const h of handles) {
      if (!h.connected) continue;
      h.socket.request("ping", {}, { timeoutMs: config.ackTimeoutMs }, (err, res, rtt) =>
        recordAck(err, res, rtt, { event: "ping" }),
      );
    }
  }, PING_EVERY);
  atScenarioTime(END, () => {
    clearInterval(pinger);
    for (const h of handles) h.close();
  });
}

function noop() {}
