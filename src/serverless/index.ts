/**
 * The gateway's HTTP API as a fetch handler, for serverless and edge functions that run Node's
 * `pg` (Vercel and Netlify functions, AWS Lambda behind a fetch adapter, a Fly machine without
 * sockets, a script). No Socket.IO server runs here: what the API commits is published through
 * the cluster's Postgres channel in the adapter's own wire format (`./publisher.ts`), so sockets
 * on every gateway node receive it exactly as if another node had sent it.
 *
 * ```ts
 * // api/[[...route]].ts (Vercel) or any runtime that calls `fetch(request, env)`
 * export { default } from "tkr-gateway/src/serverless/index.js";
 *
 * // or, explicitly:
 * import { createServerlessApp } from "./src/serverless/index.js";
 * const app = createServerlessApp(process.env);
 * const response = await app.fetch(new Request("https://x/v1/sessions/s1/messages", init));
 * ```
 *
 * Variables are the gateway's (src/config.ts): `DATABASE_URL` (required; it may go through a
 * transaction pooler, since nothing here LISTENs) and `AUTH_JWT_SECRET` (required; the nodes' secret,
 * so tokens verify everywhere) matter most. `DATABASE_POOL_MAX` defaults to 5 here.
 *
 * Every response waits for its publish to finish (bounded by `publishTimeoutMs`), so a platform
 * that freezes the function after the response has nothing left half-sent. A failed publish is
 * tried once, counted in `tkr_cluster_errors_total` and logged; the message stays committed and
 * sockets catch up through `session:head` and `sync`. With Postgres down the API answers
 * 503 `UNAVAILABLE` and nothing retries in the background.
 */
import type { Hono } from "hono";
import { createPrincipalRegistry } from "../auth/principals.js";
import { ConfigError, type Env } from "../config.js";
import { type Database, READINESS_PROBE_MS } from "../db/client.js";
import type { AppEnv } from "../http/routes.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import {
  createApiApp,
  createPublishingMessaging,
  loadServerlessConfig,
  misconfigured,
  openServerlessDatabase,
  pickEnv,
  withTimeout,
} from "./compose.js";
import type { ClusterPublisher, Encode } from "./publisher.js";

export { type ClusterPublisher, createClusterPublisher } from "./publisher.js";

export interface ServerlessOptions {
  /** Default: pino JSON on stdout at `LOG_LEVEL`. */
  logger?: Logger;
  /** Longest a response waits for its publish, in ms. Default 3,000. */
  publishTimeoutMs?: number;
  /** Payloads over this many bytes go through `socket_io_attachments`. Default 7,000. */
  payloadThreshold?: number;
  /** msgpack encoder for attachments; default `@msgpack/msgpack` when it loads, `null`: none. */
  encode?: Encode | null;
}

export interface ServerlessApp {
  /** Answers one request; resolves once the request's publish has finished or timed out. */
  fetch(request: Request): Promise<Response>;
  /** The Hono app itself (no publish wait): mount it elsewhere if needed. */
  app: Hono<AppEnv>;
  publisher: ClusterPublisher;
  database: Database;
  metrics: Metrics;
  /** Waits for pending publishes (bounded) and closes the pool. */
  close(): Promise<void>;
}

/**
 * Builds the API from an environment-like record (`process.env`, or a platform's bindings).
 * Throws a `ConfigError` naming every bad or missing variable.
 */
export function createServerlessApp(env: Env, options: ServerlessOptions = {}): ServerlessApp {
  const config = loadServerlessConfig(env);
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.nodeId });
  const database = openServerlessDatabase(env, config, logger, "serverless");
  const metrics = createMetrics({ nodeId: config.nodeId });
  metrics.observePool("main", database.pool);
  const { messaging, publisher } = createPublishingMessaging(database, config, logger, metrics, {
    ...(options.payloadThreshold ? { payloadThreshold: options.payloadThreshold } : {}),
    ...(options.encode !== undefined ? { encode: options.encode } : {}),
  });
  const app = createApiApp({
    config,
    logger,
    messaging,
    metrics,
    principals: createPrincipalRegistry({ pool: database.pool }),
    probe: () => database.probe(READINESS_PROBE_MS),
  });

  const publishTimeoutMs = options.publishTimeoutMs ?? 3_000;
  const settle = () => withTimeout(publisher.idle(), publishTimeoutMs);

  let closed: Promise<void> | undefined;
  return {
    app,
    publisher,
    database,
    metrics,
    async fetch(request) {
      const response = await app.fetch(request);
      await settle();
      return response;
    },
    close() {
      closed ??= (async () => {
        await settle();
        metrics.stop();
        await database.close().catch(() => {});
      })();
      return closed;
    },
  };
}

// This module is an entry point, like main.ts: the one app per function instance is kept here
// so warm invocations reuse its pool.
let shared: ServerlessApp | undefined;

/**
 * `export default { fetch }` for runtimes that call `fetch(request, env, ctx)`. The first
 * request builds the app from `env` (or `process.env`); a configuration error answers 500 and is
 * logged, and the next request tries again.
 */
export default {
  async fetch(request: Request, env?: unknown): Promise<Response> {
    if (!shared) {
      try {
        shared = createServerlessApp(pickEnv(env));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        return misconfigured();
      }
    }
    return shared.fetch(request);
  },
};
