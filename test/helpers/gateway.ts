/**
 * Real gateway nodes on port 0 against a test database, and real socket.io-client sockets.
 */
import { io as connectSocket, type Socket } from "socket.io-client";
import { loadConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { createLogger } from "../../src/observability/logger.js";
import type { PrincipalKind } from "../../src/protocol/index.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

export const TEST_SECRET = "test-secret-0123456789-0123456789-abcdef";

export interface TestGateway {
  gateway: Gateway;
  url: string;
  db: TestDatabase;
  token(sub: string, kind: PrincipalKind, expiresInSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Share a database between nodes; default: a fresh one, dropped on close. */
  db?: TestDatabase;
  env?: Record<string, string>;
  nodeId?: string;
  /** Folder of the built web UI to serve; default the gateway's (`dist/web`). */
  webRoot?: string;
}

export async function startTestGateway(options: StartOptions = {}): Promise<TestGateway> {
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: TEST_SECRET,
    AUTH_DEV_TOKENS: "true",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ID: options.nodeId ?? `test-${Math.random().toString(36).slice(2, 8)}`,
    SHUTDOWN_TIMEOUT_MS: "5000",
    ...options.env,
  });
  const gateway = await createGateway({
    config,
    databaseUrl: db.url,
    logger: createLogger({ level: config.logLevel, nodeId: config.nodeId }),
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
  });
  await gateway.listen();
  return {
    gateway,
    url: gateway.url,
    db,
    token: (sub, kind, expiresInSeconds) => gateway.tokens.sign({ sub, kind }, expiresInSeconds),
    async close() {
      await gateway.close();
      if (!options.db) await db.drop();
    },
  };
}

export interface ConnectOptions {
  token?: string;
  transports?: ("websocket" | "polling")[];
  reconnection?: boolean;
  extraHeaders?: Record<string, string>;
}

/** A connected socket, or the connect_error. Sockets are closed by `closeAll`. */
export function connect(
  url: string,
  namespace: string,
  options: ConnectOptions = {},
): Promise<Socket> {
  const socket = connectSocket(`${url}${namespace}`, {
    auth: options.token === undefined ? {} : { token: options.token },
    transports: options.transports ?? ["websocket"],
    reconnection: options.reconnection ?? false,
    forceNew: true,
    ...(options.extraHeaders ? { extraHeaders: options.extraHeaders } : {}),
  });
  opened.add(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

const opened = new Set<Socket>();
export function closeAllSockets(): void {
  for (const socket of opened) socket.close();
  opened.clear();
}

/** Emits with an ack and a timeout; resolves with the ack object. */
export function call<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  payload?: unknown,
  timeoutMs = 5_000,
): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}

/**
 * Resolves once a `ping` on each socket is acked. The node writes to a socket in order, so
 * whatever it emitted to these sockets before handling the pings has arrived by then: the
 * sentinel to await before asserting that something did NOT arrive.
 */
export async function flushed(...sockets: Socket[]): Promise<void> {
  await Promise.all(sockets.map((socket) => call(socket, "ping", {})));
}

/** Resolves once `predicate` holds, polling every 20 ms, or rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
