/**
 * One gateway node: database pool, messaging core, HTTP app and Socket.IO on one Node server.
 * `main.ts` builds one from the environment; tests build them on port 0 against a test database.
 */
import { randomBytes } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { createAdaptorServer } from "@hono/node-server";
import { createPrincipalRegistry, withPrincipalRegistry } from "./auth/principals.js";
import { createTokenVerifier, type TokenVerifier } from "./auth/tokens.js";
import type { Config } from "./config.js";
import { createDatabase, type Database, READINESS_PROBE_MS } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { createHttpApp } from "./http/app.js";
import { createHttpRateLimiter } from "./http/rate-limit.js";
import { serveFolder } from "./http/static.js";
import {
  createMessaging,
  createNodeStreams,
  type Messaging,
  streamLimitsOf,
} from "./messaging/index.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { createMetricsServer } from "./observability/metrics-server.js";
import { maxBodyBytes } from "./protocol/limits.js";
import { createAuditPruner } from "./realtime/audit.js";
import { enableFlyReplay } from "./realtime/fly-replay.js";
import { perSecond } from "./realtime/rate-limit.js";
import { createRealtimeServer, type RealtimeServer } from "./realtime/server.js";

const require = createRequire(import.meta.url);

/** Where `vite build` puts the web UI (the same folder from src/ and from the compiled dist/). */
export const WEB_ROOT = fileURLToPath(new URL("../dist/web", import.meta.url));
/** Where `npm run build:sdk` puts the SDK, whose browser bundle is served as README says. */
const SDK_ROOT = fileURLToPath(new URL("../dist/sdk", import.meta.url));

export interface GatewayOptions {
  config: Readonly<Config>;
  /** The database to use (the embedded one's URL when DATABASE_URL is absent). */
  databaseUrl: string;
  /** Direct URL of the primary for LISTEN; default `databaseUrl`. */
  listenUrl?: string;
  logger?: Logger;
  /** Apply migrations before serving. Default true. */
  migrate?: boolean;
  /** Folder of the built web UI. Default `dist/web`; missing folder: no UI. */
  webRoot?: string;
}

export interface Gateway {
  config: Readonly<Config>;
  logger: Logger;
  database: Database;
  messaging: Messaging;
  metrics: Metrics;
  tokens: TokenVerifier;
  realtime: RealtimeServer;
  server: HttpServer;
  /** Starts listening on `config.host:config.port` (0: any free port); resolves to the port. */
  listen(): Promise<number>;
  /** `http://127.0.0.1:<port>` once listening. */
  readonly url: string;
  /** The metrics server's `http://127.0.0.1:<port>` once listening, when METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
  /**
   * Graceful stop: refuse new connections, let in-flight handlers finish, flush the audit,
   * disconnect sockets (clients reconnect elsewhere), close pools. Bounded by
   * `config.shutdownTimeoutMs`. Safe to call twice.
   */
  close(): Promise<void>;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.nodeId });
  const database = createDatabase({
    url: options.databaseUrl,
    max: config.databasePoolMax,
    applicationName: `tkr-gateway:${config.nodeId}`,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    logger,
  });
  if (options.migrate !== false) await runMigrations(database.pool);

  const metrics = createMetrics({ nodeId: config.nodeId });
  metrics.observePool("main", database.pool);
  const secret = config.jwtSecret ?? randomBytes(32).toString("hex");
  if (!config.jwtSecret)
    logger.warn(
      "AUTH_JWT_SECRET is not set: dev tokens are signed with a random per-process secret",
    );
  const tokens = withPrincipalRegistry(
    createTokenVerifier({ secret, allowNoExpiry: config.devTokens }),
    createPrincipalRegistry({ pool: database.pool }),
  );
  const messaging = createMessaging({
    db: database.db,
    maxContentBytes: config.maxContentBytes,
    historyPageMaxBytes: config.historyPageMaxBytes,
    logger: logger.child({ module: "messaging" }),
    onAppend: (seconds) => metrics.appendLatency.observe(seconds),
    receipts: {
      mode: "coalesce",
      flushMs: config.receiptFlushMs,
      onWrite: (rows) => {
        metrics.receiptWrites.inc({ unit: "statements" });
        metrics.receiptWrites.inc({ unit: "rows" }, rows);
      },
    },
  });
  const streams = createNodeStreams({
    messaging,
    nodeId: config.nodeId,
    limits: streamLimitsOf(config),
  });

  let realtime: RealtimeServer | undefined;
  let draining = false;
  // Only the folder is needed: the package's main module would also load the 1.7 MB Swagger UI
  // browser bundle into the server (about 40 MB of RSS and 0.4 s on every start).
  const swaggerRoot = (require("swagger-ui-dist/absolute-path.js") as () => string)();
  const webRoot = options.webRoot ?? WEB_ROOT;

  const app = createHttpApp({
    messaging,
    streams,
    tokens,
    logger,
    metrics,
    devTokens: config.devTokens,
    maxBodyBytes: maxBodyBytes(config.maxContentBytes),
    historyConcurrency: config.httpHistoryConcurrency,
    corsOrigins: config.corsOrigins,
    serveMetrics: config.metricsPort === undefined && !config.production,
    socketCounters: () => metrics.socket,
    rateLimiter: createHttpRateLimiter({
      principal: {
        calls: perSecond(config.httpRateLimit),
        writes: perSecond(config.httpWriteRateLimit),
      },
      address: {
        calls: perSecond(config.httpIpRateLimit),
        writes: perSecond(config.httpIpWriteRateLimit),
      },
      trustProxy: config.trustProxy,
      metrics,
    }),
    readiness: async () => {
      const checks: Record<string, boolean> = { accepting: !draining };
      checks.database = await database.probe(READINESS_PROBE_MS);
      checks.cluster = realtime?.clusterReady() ?? false;
      return { ready: Object.values(checks).every(Boolean), checks };
    },
    mount: (root) => {
      root.use("/docs/assets/*", serveFolder({ root: swaggerRoot, prefix: "/docs/assets" }));
      root.use("/tkr-sdk.bundle.js", serveFolder({ root: SDK_ROOT }));
      root.use(
        "*",
        serveFolder({
          root: webRoot,
          fallback: "index.html",
          immutablePrefix: "/assets/",
          noFallbackPrefixes: ["/v1", "/metrics", "/docs", "/openapi.json", "/socket.io"],
        }),
      );
    },
  });

  const server = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
  // Upgraded (WebSocket) connections are not in closeAllConnections()'s reach: tracked here.
  const openSockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    openSockets.add(socket);
    socket.once("close", () => openSockets.delete(socket));
  });
  realtime = createRealtimeServer(server, {
    messaging,
    streams,
    tokens,
    metrics,
    logger,
    pool: database.pool,
    listenUrl: options.listenUrl ?? options.databaseUrl,
    nodeId: config.nodeId,
    region: config.region,
    corsOrigins: config.corsOrigins,
    maxContentBytes: config.maxContentBytes,
    headIntervalMs: config.clusterHeadIntervalMs,
    typingTimeoutMs: config.typingTimeoutMs,
    presenceNodeTimeoutMs: config.presenceNodeTimeoutMs,
    rateLimitPerSecond: config.socketRateLimit,
    rateLimitBurst: config.socketRateLimit * 2,
    maxBufferedBytes: config.socketMaxBufferBytes,
    binaryTimeoutMs: config.socketBinaryTimeoutMs,
    principalLimits: {
      maxSockets: config.principalSocketLimit,
      events: perSecond(config.principalRateLimit),
      messages: perSecond(config.principalMsgRateLimit),
    },
    allowEIO3: config.socketAllowEio3,
  });
  messaging.setPublisher(realtime.publisher);
  const auditPruner = createAuditPruner({
    pool: database.pool,
    logger,
    retentionDays: config.auditRetentionDays,
  });
  if (config.flyMachineId) enableFlyReplay(realtime.io, config.flyMachineId);

  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : createMetricsServer(metrics, () => metrics.socket);
  let metricsPort: number | undefined;
  let port = 0;
  let closing: Promise<void> | undefined;
  const gateway: Gateway = {
    config,
    logger,
    database,
    messaging,
    metrics,
    tokens,
    realtime,
    server,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get metricsUrl() {
      return metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}`;
    },
    listen: async () => {
      if (metricsServer && config.metricsPort !== undefined) {
        metricsPort = await metricsServer.listen(config.metricsPort, config.host);
        logger.info({ port: metricsPort }, "metrics listening");
      }
      return new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => {
          server.off("error", reject);
          port = (server.address() as AddressInfo).port;
          logger.info({ port, host: config.host }, "gateway listening");
          resolve(port);
        });
      });
    },
    close() {
      closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + config.shutdownTimeoutMs;
        const rt = realtime as RealtimeServer;
        auditPruner.stop();
        // Stop taking new HTTP connections and sockets; open ones carry on for now.
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        rt.drain();
        await rt.settle(Math.max(0, deadline - Date.now() - 1_000));
        // Closes every transport at once (synchronously), then flushes the audit and leaves the
        // cluster, which may take a while: the grace runs meanwhile.
        const realtimeClosed = rt.close();
        server.closeIdleConnections();
        // Clients now close their own connections; whatever is left after the grace (a browser's
        // keep-alive connection, a peer that never answers the WebSocket close) is cut.
        const grace = Math.min(config.shutdownGraceMs, Math.max(0, deadline - Date.now()));
        await Promise.race([httpClosed, sleep(grace)]);
        server.closeAllConnections();
        for (const socket of openSockets) socket.destroy();
        await httpClosed;
        await realtimeClosed;
        // Receipts buffered for the next flush are written now, while the pool is open.
        await messaging
          .close()
          .catch((err: unknown) => logger.warn({ err }, "receipt flush failed"));
        await database.close().catch(() => {});
        await metricsServer?.close();
        metrics.stop();
        logger.info("gateway stopped");
      })();
      return closing;
    },
  };
  return gateway;
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
