/**
 * `createGatewayClient` options, their defaults, and the resolved form the parts use.
 */
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import type { NamespaceName } from "../protocol/events.js";
import { MAX_PAGE_LIMIT } from "../protocol/limits.js";
import { memoryOutboxStorage, type OutboxStorage } from "./storage.js";
import type { TokenProvider } from "./token.js";

/** Where the SDK writes what it does; each method optional. Default: nothing is logged. */
export interface SdkLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export interface ReconnectionOptions {
  /** First delay before reconnecting, in ms. Default 500. */
  delayMs?: number;
  /** Largest delay between attempts, in ms; delays double up to it. Default 10,000. */
  maxDelayMs?: number;
  /** 0..1: each delay is moved at random by up to this fraction, to spread clients. Default 0.5. */
  jitter?: number;
  /**
   * Failed attempts in a row after which the client gives up and turns `failed`. Default
   * Infinity: a client keeps trying until `close()`.
   */
  maxAttempts?: number;
}

export interface HeartbeatSettings {
  /** Ms between `ping` events while connected; 0 turns the heartbeat off. Default 15,000. */
  intervalMs?: number;
  /**
   * Ms a `ping` may go unanswered before the connection is declared a zombie and replaced.
   * A zombie is noticed within `intervalMs + timeoutMs`. Default 5,000.
   */
  timeoutMs?: number;
}

export interface OutboxSettings {
  /**
   * Where unacknowledged messages are kept. Default `memoryOutboxStorage()`; in browsers pass
   * `localStorageOutbox({ key })` to keep them across reloads.
   */
  storage?: OutboxStorage;
  /**
   * Most messages held (being sent or waiting). At the limit `send()` rejects with
   * `OutboxFullError` (code `OUTBOX_FULL`) and queues nothing. Default 1,000.
   */
  maxSize?: number;
  /**
   * Messages sent before their acks come back. 1 keeps `seq` in the order of `send()` calls;
   * more sends faster, but retries can then reorder them. Default 1.
   */
  maxInFlight?: number;
}

export interface RetrySettings {
  /** First wait before resending after a timeout or a retryable error ack, in ms. Default 250. */
  delayMs?: number;
  /** Largest wait between resends, in ms. Default 10,000. */
  maxDelayMs?: number;
}

export interface GatewayClientOptions {
  /** The gateway's base URL, e.g. `https://chat.example.com`; the namespace is added to it. */
  url: string;
  /** `/clients` for users (tokens of kind `user`), `/agents` for agents. */
  namespace: NamespaceName;
  /**
   * A fixed token. Give this or `getToken` (or both: `token` first, `getToken` after it
   * expires). With only `token`, AUTH_EXPIRED is final. Default none.
   */
  token?: string;
  /**
   * Returns a token; called at start when `token` is absent, and again each time the gateway
   * ends or refuses the connection with AUTH_EXPIRED. A throw is reported on `error` and
   * retried with the reconnection backoff. Default none.
   */
  getToken?: TokenProvider;
  /**
   * Engine.IO transports, in the order tried. Default `["websocket"]`: WebSocket needs no
   * sticky routing across gateway nodes; add `"polling"` where WebSockets are blocked.
   */
  transports?: ("websocket" | "polling")[];
  /** Ms to wait for each call's ack (one attempt of a send, a join, a sync). Default 10,000. */
  ackTimeoutMs?: number;
  /** Ms an attempt to open the connection may take. Default 10,000. */
  connectTimeoutMs?: number;
  /** Reconnection backoff (socket.io-client's, and the SDK's own after refused handshakes). */
  reconnection?: ReconnectionOptions;
  /** Application-level heartbeat, or `false` for none. */
  heartbeat?: HeartbeatSettings | false;
  /** Resends of a message after a timeout or a retryable error ack. */
  retry?: RetrySettings;
  outbox?: OutboxSettings;
  /** Messages asked for per `sync` call when filling a hole, 1–500. Default 200. */
  syncPageSize?: number;
  /**
   * Ms a hole in a session's `seq` may stay open before it is filled with `sync`; live messages
   * may arrive slightly out of order, so this avoids a sync per reordering. Default 100.
   */
  gapWaitMs?: number;
  /** Default: nothing is logged. */
  logger?: SdkLogger;
  /**
   * Extra socket.io-client options (e.g. `path`, `extraHeaders` in Node). The SDK's own
   * settings win where they overlap. Default none.
   */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

export interface ResolvedOptions {
  url: string;
  namespace: NamespaceName;
  transports: ("websocket" | "polling")[];
  ackTimeoutMs: number;
  connectTimeoutMs: number;
  reconnection: Required<ReconnectionOptions>;
  heartbeat: Required<HeartbeatSettings>;
  retry: Required<RetrySettings>;
  outbox: Required<OutboxSettings>;
  syncPageSize: number;
  gapWaitMs: number;
  logger: Required<SdkLogger>;
  socketOptions: Partial<ManagerOptions & SocketOptions>;
}

const noop = () => {};

export function resolveOptions(options: GatewayClientOptions): ResolvedOptions {
  const heartbeat = options.heartbeat === false ? { intervalMs: 0 } : (options.heartbeat ?? {});
  const logger = options.logger ?? {};
  return {
    url: options.url.replace(/\/+$/, ""),
    namespace: options.namespace,
    transports: options.transports ?? ["websocket"],
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    reconnection: {
      delayMs: options.reconnection?.delayMs ?? 500,
      maxDelayMs: options.reconnection?.maxDelayMs ?? 10_000,
      jitter: options.reconnection?.jitter ?? 0.5,
      maxAttempts: options.reconnection?.maxAttempts ?? Number.POSITIVE_INFINITY,
    },
    heartbeat: {
      intervalMs: heartbeat.intervalMs ?? 15_000,
      timeoutMs: heartbeat.timeoutMs ?? 5_000,
    },
    retry: {
      delayMs: options.retry?.delayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
    },
    outbox: {
      storage: options.outbox?.storage ?? memoryOutboxStorage(),
      maxSize: options.outbox?.maxSize ?? 1_000,
      maxInFlight: Math.max(1, options.outbox?.maxInFlight ?? 1),
    },
    syncPageSize: Math.min(MAX_PAGE_LIMIT, Math.max(1, options.syncPageSize ?? 200)),
    gapWaitMs: options.gapWaitMs ?? 100,
    logger: {
      debug: logger.debug?.bind(logger) ?? noop,
      info: logger.info?.bind(logger) ?? noop,
      warn: logger.warn?.bind(logger) ?? noop,
      error: logger.error?.bind(logger) ?? noop,
    },
    socketOptions: options.socketOptions ?? {},
  };
}
