/**
 * Send-to-receive latency across users and agents in shared sessions.
 * Target: p50 <= 3 ms and p99 <= 20 ms at 1,000 msg/s over 2,000 sockets, nothing lost.
 *
 *   k6 run loadtest/scenarios/message-latency.js
 *   k6 run -e SOCKETS=200 -e RATE=100 -e DURATION=30s loadtest/scenarios/message-latency.js
 *
 * Env: SOCKETS (2000), RATE msg/s in total (1000), GROUP_SIZE sockets per session (20),
 * WARMUP (30s), DURATION (2m), DRAIN (5s), CONNECT_SPREAD (10s), P50_MS (3), P99_MS (20),
 * plus the connection settings of lib/k6-socket.js (BASE_URL, BASE_URLS, tokens).
 */
import { latencyScenario } from "../lib/latency-scenario.js";
import { SCENARIOS } from "../lib/scenarios.js";

const scenario = latencyScenario({
  name: "message_latency",
  sockets: SCENARIOS.latency.sockets,
  rate: SCENARIOS.latency.rate,
  crossNode: false,
});

export const options = scenario.options;
export const setup = scenario.setup;
export default scenario.run;
