/**
 * Cluster test parts: gateway nodes with their own database and LISTEN URLs (so one can go
 * through a fault proxy), a client that follows the delivery contract, and the queries that
 * find and kill the nodes' LISTEN connections.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { Socket } from "socket.io-client";
import { loadConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { createLogger } from "../../src/observability/logger.js";
import type { PrincipalKind, SessionHead, StoredMessage } from "../../src/protocol/index.js";
import type { TestDatabase } from "./db.js";
import { call, connect, TEST_SECRET } from "./gateway.js";

export interface ClusterNode {
  gateway: Gateway;
  url: string;
  nodeId: string;
  token(sub: string, kind: PrincipalKind): Promise<string>;
  close(): Promise<void>;
}

export interface NodeOptions {
  db: TestDatabase;
  nodeId: string;
  /** Default `db.url`. */
  databaseUrl?: string;
  /** Default `databaseUrl`. */
  listenUrl?: string;
  env?: Record<string, string>;
}

/** A gateway node on port 0 against an already migrated database. */
export async function startNode(options: NodeOptions): Promise<ClusterNode> {
  const databaseUrl = options.databaseUrl ?? options.db.url;
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: TEST_SECRET,
    AUTH_DEV_TOKENS: "true",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ID: options.nodeId,
    SHUTDOWN_TIMEOUT_MS: "3000",
    ...options.env,
  });
  const gateway = await createGateway({
    config,
    databaseUrl,
    listenUrl: options.listenUrl ?? databaseUrl,
    migrate: false,
    logger: createLogger({ level: config.logLevel, nodeId: config.nodeId }),
  });
  await gateway.listen();
  return {
    gateway,
    url: gateway.url,
    nodeId: options.nodeId,
    token: (sub, kind) => gateway.tokens.sign({ sub, kind }),
    close: () => gateway.close(),
  };
}

type Ack<T> = ({ status: "success" } & T) | { status: "error"; code: string; retryable: boolean };
type Page = { messages: StoredMessage[]; headSeq: number; hasMore: boolean };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A socket that follows PROTOCOL.md section 5 and nothing more: it keeps live messages by seq
 * (so duplicates collapse) and, when a `session:head` is ahead of what it holds without a hole,
 * fetches the rest with `sync`, retrying retryable errors.
 */
export class Follower {
  /** seq → message, each seq once. */
  readonly held = new Map<number, StoredMessage>();
  /** Live `message` events, and those for a seq already held. */
  live = 0;
  liveDuplicates = 0;
  heads: number[] = [];
  syncs = 0;
  syncErrors = 0;
  private contiguous = 0;
  private filling = false;
  private again = false;
  private stopped = false;

  private constructor(
    readonly socket: Socket,
    readonly sessionId: string,
  ) {
    socket.on("message", (m: StoredMessage) => {
      if (m.sessionId !== sessionId) return;
      this.live++;
      if (this.held.has(m.seq)) this.liveDuplicates++;
      this.add([m]);
    });
    socket.on("session:head", (h: SessionHead) => {
      if (h.sessionId !== sessionId) return;
      this.heads.push(h.seq);
      if (h.seq > this.contiguous) void this.fill();
    });
  }

  static async join(
    url: string,
    namespace: "/agents" | "/clients",
    token: string,
    sessionId: string,
  ): Promise<Follower> {
    const socket = await connect(url, namespace, { token });
    const follower = new Follower(socket, sessionId);
    const ack = await call<Ack<Page>>(socket, "join_session", { sessionId, lastSeq: 0 });
    if (ack.status !== "success") throw new Error(`join failed: ${ack.code}`);
    follower.add(ack.messages);
    if (ack.hasMore) void follower.fill();
    return follower;
  }

  /** Highest seq below which nothing is missing. */
  get prefix(): number {
    return this.contiguous;
  }

  /** True when it holds exactly seqs 1..n. */
  holdsExactly(n: number): boolean {
    return this.contiguous === n && this.held.size === n;
  }

  stop(): void {
    this.stopped = true;
  }

  private add(messages: StoredMessage[]) {
    for (const m of messages) if (!this.held.has(m.seq)) this.held.set(m.seq, m);
    while (this.held.has(this.contiguous + 1)) this.contiguous++;
  }

  private async fill(): Promise<void> {
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.again = false;
        for (;;) {
          if (this.stopped || !this.socket.connected) return;
          this.syncs++;
          const page = await call<Ack<Page>>(this.socket, "sync", {
            sessionId: this.sessionId,
            afterSeq: this.contiguous,
            limit: 500,
          }).catch(() => undefined);
          if (page?.status !== "success") {
            this.syncErrors++;
            await sleep(300);
            continue;
          }
          this.add(page.messages);
          if (!page.hasMore) break;
        }
      } while (this.again);
    } finally {
      this.filling = false;
    }
  }
}

/** The nodes' LISTEN connections in one database, as pg_stat_activity shows them. */
export async function listenerBackends(
  pool: pg.Pool,
  database: string,
): Promise<Array<{ pid: number; application_name: string; query: string; state: string }>> {
  const result = await pool.query(
    `select pid, application_name, query, state from pg_stat_activity
     where datname = $1 and application_name like 'tkr-cluster:%' and query ilike 'LISTEN%'`,
    [database],
  );
  return result.rows;
}

/** Terminates every LISTEN connection of the nodes in one database; resolves to how many. */
export async function terminateListeners(pool: pg.Pool, database: string): Promise<number> {
  const result = await pool.query(
    `select pg_terminate_backend(pid) as killed from pg_stat_activity
     where datname = $1 and application_name like 'tkr-cluster:%' and query ilike 'LISTEN%'`,
    [database],
  );
  return result.rows.filter((row: { killed: boolean }) => row.killed).length;
}

/**
 * Counts the fan-out NOTIFYs a node sends: its cluster pool's `pg_notify` calls carrying a
 * server-side emit (type 9), attachment headers included; heartbeats and the rest are left out.
 */
export function countFanoutNotifies(pool: pg.Pool): { readonly count: number } {
  const counter = { count: 0 };
  const original = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    const [text, values] = args;
    if (
      typeof text === "string" &&
      text.includes("pg_notify") &&
      Array.isArray(values) &&
      typeof values[1] === "string" &&
      values[1].includes('"type":9')
    ) {
      counter.count++;
    }
    return original(...args);
  };
  return counter;
}

/** `count` messages of `bytes` ASCII characters each, distinct by index. */
export function filler(bytes: number, tag: string): string {
  const head = `${tag}:`;
  return head + "x".repeat(Math.max(0, bytes - head.length));
}

/**
 * Resolves right after the node's next head-positioning pass has read the table (its query is
 * recognised by its text), so a test can act knowing no pass runs for one interval.
 */
export function afterPositioningRead(pool: pg.Pool): Promise<void> {
  return new Promise((resolve) => {
    const original = pool.query;
    const wrapped = function (this: pg.Pool, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      if (typeof args[0] === "string" && args[0].includes("last_seq from sessions")) {
        pool.query = original;
        void Promise.resolve(result).then(
          () => resolve(),
          () => resolve(),
        );
      }
      return result;
    };
    pool.query = wrapped as typeof pool.query;
  });
}

/** The same Postgres URL with another port (a fault proxy in front of the server). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

export interface StreamOptions {
  sessionId: string;
  /** Message ids are `${prefix}-${k}`. */
  prefix: string;
  count: number;
  /** Message k is sent no earlier than k × periodMs after the start. */
  periodMs: number;
  /** Most messages awaiting their ack at once. */
  window: number;
  /** Wait before resending after a retryable error, in ms. Default 250. */
  retryMs?: number;
}

export interface StreamResult {
  /** id → acknowledged seq. */
  acked: Map<string, number>;
  /** Retryable errors by code (each followed by a resend of the same id). */
  retryable: Map<string, number>;
  /** Non-retryable errors (none expected). */
  failed: string[];
  /** When the last ack arrived (ms since epoch). */
  lastAckAt: number;
}

/**
 * Sends `count` messages paced and windowed, resending the same id after retryable errors as
 * the protocol asks (the id makes the resend idempotent).
 */
export async function stream(socket: Socket, options: StreamOptions): Promise<StreamResult> {
  const result: StreamResult = {
    acked: new Map(),
    retryable: new Map(),
    failed: [],
    lastAckAt: 0,
  };
  const start = Date.now();
  let next = 0;
  const send = async (k: number) => {
    const id = `${options.prefix}-${k}`;
    for (;;) {
      const ack = await call<Ack<{ seq: number }>>(
        socket,
        "message",
        { id, sessionId: options.sessionId, content: `${k}`, type: "text" },
        10_000,
      ).catch(() => ({ status: "error" as const, code: "ACK_TIMEOUT", retryable: true }));
      if (ack.status === "success") {
        result.acked.set(id, ack.seq);
        result.lastAckAt = Date.now();
        return;
      }
      if (!ack.retryable) {
        result.failed.push(`${id}: ${ack.code}`);
        return;
      }
      result.retryable.set(ack.code, (result.retryable.get(ack.code) ?? 0) + 1);
      await sleep(options.retryMs ?? 250);
    }
  };
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= options.count) return;
      const wait = start + k * options.periodMs - Date.now();
      if (wait > 0) await sleep(wait);
      await send(k);
    }
  };
  await Promise.all(Array.from({ length: options.window }, worker));
  return result;
}

export interface ChildNode {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const NODE_ENTRY = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A gateway node in a child process (see cluster-node.ts), on a free port. */
export async function spawnNode(env: Record<string, string>): Promise<ChildNode> {
  const child = spawn(process.execPath, ["--import", "tsx", NODE_ENTRY], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_DEV_TOKENS: "true",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      SHUTDOWN_TIMEOUT_MS: "3000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${errors}`)), 30_000);
    void exited.then(() => reject(new Error(`node exited at start: ${errors}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      if (!line.startsWith('{"listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { listening: number }).listening);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    stderr: () => errors,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
