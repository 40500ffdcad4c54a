/**
 * Configuration: validated once at start from an environment-like record, then frozen. Only
 * `main.ts` passes `process.env` in; everything else receives a `Config`.
 */
import os from "node:os";
import { z } from "zod";
import { DEFAULT_MAX_CONTENT_BYTES, DEFAULT_PAGE_BYTES } from "./protocol/limits.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Every variable, its default and its meaning. README's table and `.env.example` follow this, and
 * `config.test.ts` checks that they do.
 */
export const EnvSchema = z.object({
  /** TCP port for HTTP and Socket.IO. */
  PORT: int(0, 65_535).default(3000),
  /** Interface to bind. */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** Postgres URL. Absent: an embedded Postgres is started under DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  /** Direct (non-pooled) URL of the primary, for LISTEN. Default: DATABASE_URL. */
  DATABASE_LISTEN_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  /** Most connections in the database pool. */
  DATABASE_POOL_MAX: int(1, 500).default(20),
  /** Where the embedded Postgres keeps its data. */
  DATA_DIR: z.string().min(1).default(".data"),
  /** Port of the embedded Postgres (0: any free port). */
  EMBEDDED_PG_PORT: int(0, 65_535).default(0),
  /** HS256 secret for JWTs; at least 32 characters. Required unless dev tokens are on. */
  AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Serve POST /v1/dev/token. Default: true on the embedded database, false otherwise. */
  AUTH_DEV_TOKENS: bool.optional(),
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /** `pretty` (human-readable lines), `json`, or `auto`: pretty when stdout is a terminal. */
  LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  /** This node's name in logs, metrics and the connection audit. */
  NODE_ID: z.string().min(1).max(64).optional(),
  /** Set by Fly.io on every machine; the default NODE_ID. */
  FLY_MACHINE_ID: z.string().optional(),
  /** Region name for the audit; Fly.io sets FLY_REGION. */
  FLY_REGION: z.string().optional(),
  /** Largest message `content`, in UTF-8 bytes. */
  MAX_CONTENT_BYTES: int(1, 10_485_760).default(DEFAULT_MAX_CONTENT_BYTES),
  /** Comma-separated origins allowed by CORS and Socket.IO, or `*`. */
  CORS_ORIGINS: z.string().default("*"),
  /** Milliseconds between passes that announce session heads to local sockets. */
  CLUSTER_HEAD_INTERVAL_MS: int(100, 60_000).default(5_000),
  /** Milliseconds a typing `start` lasts without a refresh before the server sends `stop`. */
  TYPING_TIMEOUT_MS: int(100, 60_000).default(6_000),
  /** Milliseconds without a heartbeat after which a node's principals go offline everywhere. */
  PRESENCE_NODE_TIMEOUT_MS: int(500, 600_000).default(20_000),
  /** Milliseconds between receipt flushes: each member's watermarks are written at most once per flush. */
  RECEIPT_FLUSH_MS: int(1_000, 60_000).default(1_000),
  /** Events per second one socket may send, sustained (burst: twice this). */
  SOCKET_RATE_LIMIT: int(1, 1_000_000).default(200),
  /** Bytes one connection may have queued for its client; past it the connection is dropped. */
  SOCKET_MAX_BUFFER_BYTES: int(65_536, 1_073_741_824).default(2_097_152),
  /** Milliseconds a binary packet may stay incomplete before the connection is closed. */
  SOCKET_BINARY_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /** Bytes of content and metadata in one history page (sync, join catch-up, HTTP); at least one message. */
  HISTORY_PAGE_MAX_BYTES: int(1_024, 104_857_600).default(DEFAULT_PAGE_BYTES),
  /** HTTP history reads running at once on this node; as many more wait, the rest get 503. */
  HTTP_HISTORY_CONCURRENCY: int(1, 1_000).default(8),
  /** Events per second one principal may send across its sockets on a node (burst: twice this). */
  PRINCIPAL_RATE_LIMIT: int(1, 1_000_000).default(1_000),
  /** `message` and `context:update` per second per principal on a node (burst: twice this). */
  PRINCIPAL_MSG_RATE_LIMIT: int(1, 1_000_000).default(300),
  /** Sockets one principal may hold on a node; the handshake past it is refused. */
  PRINCIPAL_SOCKET_LIMIT: int(1, 1_000_000).default(50),
  /** HTTP /v1 calls per second per principal (burst: twice this). */
  HTTP_RATE_LIMIT: int(1, 1_000_000).default(200),
  /** HTTP /v1 writes (POST, PUT, DELETE) per second per principal (burst: twice this). */
  HTTP_WRITE_RATE_LIMIT: int(1, 1_000_000).default(100),
  /** HTTP /v1 calls per second per client address (burst: twice this). */
  HTTP_IP_RATE_LIMIT: int(1, 1_000_000).default(1_000),
  /** HTTP /v1 writes per second per client address (burst: twice this). */
  HTTP_IP_WRITE_RATE_LIMIT: int(1, 1_000_000).default(500),
  /** `fly`: the client address is Fly-Client-IP (only behind Fly's proxy); `none`: the peer. */
  TRUST_PROXY: z.enum(["none", "fly"]).default("none"),
  /** Milliseconds the shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /** `production`: dev tokens are off and refused, metrics stay off the public port. */
  NODE_ENV: z.string().optional(),
  /** Longest a database statement may run (server and client side), in milliseconds. */
  DATABASE_QUERY_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Port of the metrics server (/metrics, /metrics/socket). Unset: on PORT, except in production. */
  METRICS_PORT: int(0, 65_535).optional(),
  /** Days the connection audit keeps a row (0: forever). */
  AUDIT_RETENTION_DAYS: int(0, 36_500).default(30),
  /** Admit Engine.IO 3 clients (socket.io-client 2.x, python-socketio 4.x); see README caveats. */
  SOCKET_ALLOW_EIO3: bool.default(false),
  /** Milliseconds clients get to close their connections on shutdown before they are cut. */
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(2_000),
  /** Milliseconds a stream may go without a delta before the server aborts it. */
  STREAM_IDLE_MS: int(100, 3_600_000).default(30_000),
  /** Streams one principal may have open at once on a node. */
  STREAM_MAX_OPEN_PER_PRINCIPAL: int(1, 100_000).default(16),
  /** Largest stream delta in UTF-8 bytes. */
  STREAM_DELTA_MAX_BYTES: int(1, 10_485_760).default(DEFAULT_MAX_CONTENT_BYTES),
  /** Delta events (or HTTP delta calls) per second per stream (burst: twice this). */
  STREAM_DELTA_RATE_LIMIT: int(1, 1_000_000).default(100),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  port: number;
  host: string;
  /** Undefined when the embedded Postgres should be started. */
  databaseUrl: string | undefined;
  databaseListenUrl: string | undefined;
  databasePoolMax: number;
  dataDir: string;
  embeddedPgPort: number;
  /** Undefined only when dev tokens are on: a random secret is then made at start. */
  jwtSecret: string | undefined;
  devTokens: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: "auto" | "json" | "pretty";
  nodeId: string;
  region: string | undefined;
  /** Set on Fly.io: enables fly-replay routing of long-polling requests to their machine. */
  flyMachineId: string | undefined;
  maxContentBytes: number;
  corsOrigins: string[] | "*";
  shutdownTimeoutMs: number;
  shutdownGraceMs: number;
  clusterHeadIntervalMs: number;
  typingTimeoutMs: number;
  presenceNodeTimeoutMs: number;
  receiptFlushMs: number;
  socketRateLimit: number;
  socketMaxBufferBytes: number;
  socketBinaryTimeoutMs: number;
  historyPageMaxBytes: number;
  httpHistoryConcurrency: number;
  /** NODE_ENV=production. */
  production: boolean;
  databaseQueryTimeoutMs: number;
  /** Undefined: metrics on the public port (never in production). 0: any free port. */
  metricsPort: number | undefined;
  /** 0: the connection audit is never pruned. */
  auditRetentionDays: number;
  principalRateLimit: number;
  principalMsgRateLimit: number;
  principalSocketLimit: number;
  httpRateLimit: number;
  httpWriteRateLimit: number;
  httpIpRateLimit: number;
  httpIpWriteRateLimit: number;
  trustProxy: "none" | "fly";
  socketAllowEio3: boolean;
  streamIdleMs: number;
  streamMaxOpenPerPrincipal: number;
  streamDeltaMaxBytes: number;
  streamDeltaRateLimit: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Reads the environment, or throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env): Readonly<Config> {
  // Empty strings count as unset, as they do in most .env tooling.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ""),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  // Judged on the raw values, so a missing secret is named beside any other bad variable rather
  // than only on the next start. Skipped when AUTH_DEV_TOKENS itself is unreadable.
  const production = cleaned.NODE_ENV === "production";
  const devTokensSetting = bool.optional().safeParse(cleaned.AUTH_DEV_TOKENS);
  if (devTokensSetting.success) {
    // Dev tokens sign for anyone with the real secret: production never serves them.
    if (production && devTokensSetting.data === true) {
      problems.push("AUTH_DEV_TOKENS: dev tokens cannot be on with NODE_ENV=production");
    }
    const devTokens = !production && (devTokensSetting.data ?? cleaned.DATABASE_URL === undefined);
    if (!devTokens && cleaned.AUTH_JWT_SECRET === undefined) {
      problems.push(
        production
          ? "AUTH_JWT_SECRET: required with NODE_ENV=production"
          : "AUTH_JWT_SECRET: required unless AUTH_DEV_TOKENS=true",
      );
    }
  }
  // A list that names nothing (",", " , ") is a typo, not a wish for any origin.
  const origins = (cleaned.CORS_ORIGINS ?? "*")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length === 0) problems.push("CORS_ORIGINS: names no origin (use * for any)");
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const devTokens = !production && (e.AUTH_DEV_TOKENS ?? e.DATABASE_URL === undefined);

  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseListenUrl: e.DATABASE_LISTEN_URL ?? e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    dataDir: e.DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    jwtSecret: e.AUTH_JWT_SECRET,
    devTokens,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    nodeId: e.NODE_ID ?? e.FLY_MACHINE_ID ?? `${os.hostname()}-${process.pid}`,
    region: e.FLY_REGION,
    flyMachineId: e.FLY_MACHINE_ID,
    maxContentBytes: e.MAX_CONTENT_BYTES,
    corsOrigins: origins.includes("*") ? "*" : origins,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    clusterHeadIntervalMs: e.CLUSTER_HEAD_INTERVAL_MS,
    typingTimeoutMs: e.TYPING_TIMEOUT_MS,
    presenceNodeTimeoutMs: e.PRESENCE_NODE_TIMEOUT_MS,
    receiptFlushMs: e.RECEIPT_FLUSH_MS,
    socketRateLimit: e.SOCKET_RATE_LIMIT,
    socketMaxBufferBytes: e.SOCKET_MAX_BUFFER_BYTES,
    socketBinaryTimeoutMs: e.SOCKET_BINARY_TIMEOUT_MS,
    historyPageMaxBytes: e.HISTORY_PAGE_MAX_BYTES,
    httpHistoryConcurrency: e.HTTP_HISTORY_CONCURRENCY,
    production,
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    metricsPort: e.METRICS_PORT,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    principalRateLimit: e.PRINCIPAL_RATE_LIMIT,
    principalMsgRateLimit: e.PRINCIPAL_MSG_RATE_LIMIT,
    principalSocketLimit: e.PRINCIPAL_SOCKET_LIMIT,
    httpRateLimit: e.HTTP_RATE_LIMIT,
    httpWriteRateLimit: e.HTTP_WRITE_RATE_LIMIT,
    httpIpRateLimit: e.HTTP_IP_RATE_LIMIT,
    httpIpWriteRateLimit: e.HTTP_IP_WRITE_RATE_LIMIT,
    trustProxy: e.TRUST_PROXY,
    socketAllowEio3: e.SOCKET_ALLOW_EIO3,
    streamIdleMs: e.STREAM_IDLE_MS,
    streamMaxOpenPerPrincipal: e.STREAM_MAX_OPEN_PER_PRINCIPAL,
    streamDeltaMaxBytes: e.STREAM_DELTA_MAX_BYTES,
    streamDeltaRateLimit: e.STREAM_DELTA_RATE_LIMIT,
  });
}
