/**
 * The parts of the serverless API that every runtime shares: its configuration rules, the
 * messaging core wired to a cluster publisher, and the Hono app. Nothing here imports pino,
 * prom-client or a Node-only module at run time, so the Node function (`./index.ts`) and the edge
 * entries (`src/edge/`) build the same API from it, each with its own logger, metrics and pool
 * lifetime.
 */
import type { Hono } from "hono";
import { type PrincipalRegistry, withPrincipalRegistry } from "../auth/principals.js";
import { createTokenVerifier } from "../auth/tokens.js";
import { type Config, ConfigError, type Env, loadConfig } from "../config.js";
import { createDatabase, type Database } from "../db/client.js";
import { createHttpApp } from "../http/app.js";
import type { AppEnv } from "../http/routes.js";
import {
  createMessaging,
  createStatelessStreams,
  type Messaging,
  streamLimitsOf,
} from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { maxBodyBytes } from "../protocol/limits.js";
import { type ClusterPublisher, createClusterPublisher, type Encode } from "./publisher.js";

/** A gateway configuration with the two variables a function cannot run without. */
export type ServerlessConfig = Config & { databaseUrl: string; jwtSecret: string };

/** Default pool size: many function instances share one primary's connection limit. */
const SERVERLESS_POOL_MAX = 5;

/** Throws a `ConfigError` naming every bad or missing variable. */
export function loadServerlessConfig(env: Env): ServerlessConfig {
  const config = loadConfig(env);
  const problems: string[] = [];
  if (!config.databaseUrl) {
    problems.push("DATABASE_URL: required for the serverless app (no embedded Postgres here)");
  }
  if (!config.jwtSecret) {
    problems.push("AUTH_JWT_SECRET: required for the serverless app (the nodes' secret)");
  }
  if (problems.length > 0 || !config.databaseUrl || !config.jwtSecret) {
    throw new ConfigError(problems);
  }
  return config as ServerlessConfig;
}

/** `DATABASE_POOL_MAX` when set, else the serverless default. */
export function serverlessPoolMax(env: Env, config: Config): number {
  return env.DATABASE_POOL_MAX ? config.databasePoolMax : SERVERLESS_POOL_MAX;
}

/** The function's pool: the serverless size, the gateway's query timeout, named after `role`. */
export function openServerlessDatabase(
  env: Env,
  config: ServerlessConfig,
  logger: Logger,
  role: "serverless" | "edge",
): Database {
  return createDatabase({
    url: config.databaseUrl,
    max: serverlessPoolMax(env, config),
    applicationName: `tkr-${role}:${config.nodeId}`,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    logger,
  });
}

export interface PublishingOptions {
  /** Payloads over this many bytes go through `socket_io_attachments`. Default 7,000. */
  payloadThreshold?: number;
  /** msgpack encoder for attachments; default `@msgpack/msgpack` when it loads, `null`: none. */
  encode?: Encode | null;
}

export interface Publishing {
  messaging: Messaging;
  publisher: ClusterPublisher;
}

/** The messaging core on one database, publishing what it commits through the cluster channel. */
export function createPublishingMessaging(
  database: Pick<Database, "db" | "pool">,
  config: ServerlessConfig,
  logger: Logger,
  metrics?: Metrics,
  options: PublishingOptions = {},
): Publishing {
  const publisher = createClusterPublisher({
    pool: database.pool,
    logger: logger.child({ module: "cluster-publisher" }),
    ...(options.payloadThreshold ? { payloadThreshold: options.payloadThreshold } : {}),
    ...(options.encode !== undefined ? { encode: options.encode } : {}),
    onFailure: () => metrics?.clusterErrors.inc(),
  });
  const messaging = createMessaging({
    db: database.db,
    maxContentBytes: config.maxContentBytes,
    logger: logger.child({ module: "messaging" }),
    publisher,
    ...(metrics ? { onAppend: (seconds: number) => metrics.appendLatency.observe(seconds) } : {}),
    // No timer outlives a request here: each receipt that moves a watermark is written at once.
    receipts: {
      mode: "direct",
      ...(metrics
        ? {
            onWrite: (rows: number) => {
              metrics.receiptWrites.inc({ unit: "statements" });
              metrics.receiptWrites.inc({ unit: "rows" }, rows);
            },
          }
        : {}),
    },
  });
  return { messaging, publisher };
}

export interface ApiAppDeps {
  config: ServerlessConfig;
  logger: Logger;
  messaging: Messaging;
  /** Absent at the edge: `/metrics` then answers `NOT_FOUND`. */
  metrics?: Metrics;
  /** Records each principal's kind and refuses a token of the other kind (identity is (kind, sub)). */
  principals: PrincipalRegistry;
  /** True when the database answers in time, for `/readyz`. */
  probe(): Promise<boolean>;
}

/** The gateway's HTTP API without a Socket.IO server. */
export function createApiApp(deps: ApiAppDeps): Hono<AppEnv> {
  const { config } = deps;
  return createHttpApp({
    messaging: deps.messaging,
    // A function keeps nothing between calls: its streams only check and relay.
    streams: createStatelessStreams({ messaging: deps.messaging, limits: streamLimitsOf(config) }),
    tokens: withPrincipalRegistry(
      createTokenVerifier({ secret: config.jwtSecret, allowNoExpiry: config.devTokens }),
      deps.principals,
    ),
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    devTokens: config.devTokens,
    maxBodyBytes: maxBodyBytes(config.maxContentBytes),
    corsOrigins: config.corsOrigins,
    serveMetrics: !config.production,
    readiness: async () => {
      const ok = await deps.probe();
      return { ready: ok, checks: { database: ok } };
    },
  });
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
export function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The answer of a function whose configuration is wrong (the details go to its logs only). */
export function misconfigured(): Response {
  return Response.json(
    {
      error: { code: "INTERNAL", message: "The function is misconfigured; see its logs" },
      requestId: null,
    },
    { status: 500 },
  );
}

/** The platform's bindings when it passes them (Workers style), else `process.env`. */
export function pickEnv(bindings: unknown): Env {
  if (bindings && typeof bindings === "object" && "DATABASE_URL" in bindings) {
    return Object.fromEntries(
      Object.entries(bindings).filter((entry): entry is [string, string] => {
        return typeof entry[1] === "string";
      }),
    );
  }
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}
