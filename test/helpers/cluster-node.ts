/**
 * A gateway node as a child process, for tests that need to kill one (SIGKILL cannot be dealt to
 * an in-process node). Started by `spawnNode`; prints `{"listening":<port>}` once ready.
 *
 * TEST HOOK: with `TKR_TEST_KILL_AFTER_COMMIT=<message id>`, the node SIGKILLs itself when that
 * message has been committed and is about to be broadcast (nothing sent, nothing acked): a node
 * that dies between commit and broadcast. It wraps the node's publisher here, in test code, so
 * the gateway itself carries no hook.
 */
import { loadConfig } from "../../src/config.js";
import { createGateway } from "../../src/gateway.js";
import type { Publisher } from "../../src/messaging/index.js";

const env = process.env;
const config = loadConfig(env);
if (!config.databaseUrl) throw new Error("DATABASE_URL is required");
const gateway = await createGateway({
  config,
  databaseUrl: config.databaseUrl,
  ...(config.databaseListenUrl ? { listenUrl: config.databaseListenUrl } : {}),
  migrate: false,
});

const killId = env.TKR_TEST_KILL_AFTER_COMMIT;
if (killId) {
  const real = gateway.realtime.publisher;
  const dying: Publisher = {
    ...real,
    message(message, exceptSocketId) {
      if (message.id === killId) process.kill(process.pid, "SIGKILL");
      return real.message(message, exceptSocketId);
    },
  };
  gateway.messaging.setPublisher(dying);
}

const port = await gateway.listen();
process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
process.on("SIGTERM", () => {
  void gateway.close().then(() => process.exit(0));
});
