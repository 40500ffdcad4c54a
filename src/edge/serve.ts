/**
 * `npm run edge`: builds the Workers bundle and serves it in workerd on `PORT` (default 3000) and
 * `HOST` (default 127.0.0.1), with the gateway's `DATABASE_URL` and `AUTH_JWT_SECRET` as the
 * Worker's bindings. What it publishes reaches sockets on every gateway node of that database.
 */
import { buildEdge } from "./build.js";
import { startWorkerd } from "./workerd.js";

const missing = ["DATABASE_URL", "AUTH_JWT_SECRET"].filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(`npm run edge needs ${missing.join(" and ")} (the gateway nodes' values)`);
  process.exit(1);
}

const bundle = await buildEdge("worker");
const server = await startWorkerd({
  script: bundle.file,
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? "127.0.0.1",
});
console.log(`edge API (workerd) on ${server.url}/v1 — ${bundle.bytes} bytes bundled`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
server.process.once("exit", (code) => {
  if (!stopping) process.exit(code ?? 1);
});
