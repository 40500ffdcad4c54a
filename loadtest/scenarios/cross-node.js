/**
 * Send-to-receive latency when sender and receiver sit on different nodes: every group's sockets
 * are spread round-robin over BASE_URLS (or FLY_MACHINES), so most deliveries cross the
 * Postgres adapter. Target: p99 <= 20 ms for cross-node deliveries at 2,000 msg/s.
 *
 *   npm run cluster -- --nodes 3
 *   k6 run -e BASE_URLS=http://127.0.0.1:3000,http://127.0.0.1:3001,http://127.0.0.1:3002 \
 *     loadtest/scenarios/cross-node.js
 *
 * Env: as message-latency.js, with RATE defaulting to 2000; P99_MS (20) applies to
 * `message_latency{cross:yes}`.
 */
import { latencyScenario } from "../lib/latency-scenario.js";
import { SCENARIOS } from "../lib/scenarios.js";

const scenario = latencyScenario({
  name: "cross_node",
  sockets: SCENARIOS.crossNode.sockets,
  rate: SCENARIOS.crossNode.rate,
  crossNode: true,
});

export const options = scenario.options;
export const setup = scenario.setup;
export default scenario.run;
