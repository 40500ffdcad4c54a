/**
 * HTTP API: `POST /v1/sessions/:id/messages` (the serverless path) and polling with
 * `GET /v1/sessions/:id/messages?afterSeq=` at fixed arrival rates.
 *
 *   k6 run loadtest/scenarios/http-api.js
 *   k6 run -e POST_RATE=50 -e GET_RATE=50 -e DURATION=30s loadtest/scenarios/http-api.js
 *
 * Env: POST_RATE requests/s (200), GET_RATE requests/s (200), DURATION (1m), SESSIONS (20),
 * POST_P99_MS (250), GET_P99_MS (150), plus the connection settings of lib/k6-socket.js. With
 * BASE_URLS or FLY_MACHINES the requests spread over the nodes.
 */
import { check } from "k6";
import exec from "k6/execution";
import { getMessages, loadConfig, postMessage, setupGroups } from "../lib/k6-socket.js";
import { pickNode, safeId } from "../lib/util.js";

const config = loadConfig();
const e = config.env;
const POST_RATE = e.int("POST_RATE", 200);
const GET_RATE = e.int("GET_RATE", 200);
const DURATION = e.str("DURATION", "1m");
const SESSIONS = e.int("SESSIONS", 20);

function arrival(rate, execName) {
  return {
    executor: "constant-arrival-rate",
    exec: execName,
    rate,
    timeUnit: "1s",
    duration: DURATION,
    preAllocatedVUs: Math.max(10, Math.ceil(rate / 10)),
    maxVUs: Math.max(50, rate),
  };
}

export const options = {
  setupTimeout: "2m",
  scenarios: {
    post_messages: arrival(POST_RATE, "post"),
    get_messages: arrival(GET_RATE, "get"),
  },
  thresholds: {
    "http_req_duration{name:post_message}": ["p(95)<=100", `p(99)<=${e.num("POST_P99_MS", 250)}`],
    "http_req_duration{name:get_messages}": ["p(95)<=60", `p(99)<=${e.num("GET_P99_MS", 150)}`],
    "http_req_failed{name:post_message}": ["rate<0.001"],
    "http_req_failed{name:get_messages}": ["rate<0.001"],
    checks: ["rate>0.999"],
    // The gateway kept up: k6 never had to skip an arrival for want of a free VU.
    dropped_iterations: ["count==0"],
  },
};

export function setup() {
  return { groups: setupGroups(config, SESSIONS, "http") };
}

let posted = 0;

export function post(data) {
  const iteration = exec.scenario.iterationInTest;
  const group = data.groups[iteration % data.groups.length];
  const target = pickNode(config, iteration);
  posted++;
  const res = postMessage(
    target.baseUrl,
    group.agent.token,
    group.sessionId,
    {
      id: safeId(config.runId, "h", exec.vu.idInTest, posted),
      content: `http load ${posted}`,
      type: "text",
      timestamp: Date.now(),
    },
    target.headers,
  );
  check(res, {
    "message stored (201)": (r) => r.status === 201,
    "ack has a seq": (r) => r.status === 201 && r.json("seq") > 0,
  });
}

/** Per VU: the highest seq read per session, so each GET polls for what is new. */
const lastSeq = {};

export function get(data) {
  const iteration = exec.scenario.iterationInTest;
  const group = data.groups[iteration % data.groups.length];
  const target = pickNode(config, iteration);
  const after = lastSeq[group.sessionId] || 0;
  const res = getMessages(
    target.baseUrl,
    group.user.token,
    group.sessionId,
    after,
    100,
    target.headers,
  );
  const ok = check(res, { "messages read (200)": (r) => r.status === 200 });
  if (!ok) return;
  const page = res.json();
  const last = page.messages.length > 0 ? page.messages[page.messages.length - 1].seq : after;
  check(page, { "page is after afterSeq": () => last >= after });
  lastSeq[group.sessionId] = last;
}
