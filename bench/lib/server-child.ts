/**
 * One server under test, in its own process so its RSS and CPU are its own:
 *
 * - `gateway`: a real gateway node (createGateway) on the bench database;
 * - `plain`: a plain Socket.IO server with the same @socket.io/postgres-adapter, no storage, on
 *   namespace `/agents`: `join_session` joins the room and acks, `message` acks and broadcasts
 *   to the room except the sender (what the gateway does, minus validation, storage and auth);
 *   streams, typing and receipts are relayed the same way (bench/lib/plain-live.ts).
 *
 * Every `SELECT pg_notify` the adapter sends is counted by wrapping its pool's `query`.
 * Argv: kind, database URL, node id. Env BENCH_JWT_SECRET for the gateway.
 */
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import v8 from "node:v8";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import { Server } from "socket.io";
import { loadConfig } from "../../src/config.js";
import { createGateway } from "../../src/gateway.js";
import { serveParent } from "./child.js";
import { relayLive } from "./plain-live.js";
import type { Breakdown } from "./protocol.js";
import { isWrite, writeTargets } from "./write-targets.js";

const [kind, databaseUrl, nodeId] = process.argv.slice(2) as ["gateway" | "plain", string, string];

const counters = { notifies: 0, attachments: 0 };

/** Write statements this process sent, by the tables they change (every pg client in the
 * process, pooled or checked out, so transactions count too). */
const writes = new Map<string, number>();
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === "string" ? first : (first as { text?: string })?.text;
  if (text && isWrite(text)) {
    const key = writeTargets(text);
    writes.set(key, (writes.get(key) ?? 0) + 1);
  }
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

type Sample = { metricName?: string; labels: Record<string, unknown>; value: number };
async function sumAndCount(metric: { get(): Promise<unknown> }, event?: string) {
  const { values } = (await metric.get()) as { values: Sample[] };
  const pick = (suffix: string) =>
    values
      .filter((v) => v.metricName?.endsWith(suffix) && (!event || v.labels.event === event))
      .reduce((a, v) => a + v.value, 0);
  return { sum: pick("_sum") * 1000, count: pick("_count") };
}

/** Queries waiting for or holding a connection, less `held` clients checked out for good. */
function busy(pool: pg.Pool, held: number): number {
  return pool.waitingCount + Math.max(0, pool.totalCount - pool.idleCount - held);
}

/** Counts NOTIFYs (and attachment inserts) sent through `pool`. */
function countNotifies(pool: pg.Pool) {
  const original = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    const first = args[0];
    const text = typeof first === "string" ? first : (first as { text?: string })?.text;
    if (text?.startsWith("SELECT pg_notify")) counters.notifies++;
    else if (text?.startsWith("INSERT INTO socket_io_attachments")) counters.attachments++;
    return original(...args);
  };
}

interface Running {
  port: number;
  connections(): number;
  /** Database work queued or in flight (the adapter's LISTEN client excepted). */
  backlog(): number;
  /** The adapter's LISTEN connection is up (NOTIFYs from other nodes arrive). */
  listening(): boolean;
  /** Gateway only: time inside the server, for the breakdown of a latency. */
  breakdown?(): Promise<Breakdown>;
  close(): Promise<void>;
}

async function startGateway(): Promise<Running> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: process.env.BENCH_JWT_SECRET,
    AUTH_DEV_TOKENS: "false",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    NODE_ID: nodeId,
    SHUTDOWN_TIMEOUT_MS: "5000",
    // The bench measures throughput, not the limits: its senders share principals and its setup
    // comes from one address, far past what the per-principal and HTTP defaults allow.
    PRINCIPAL_RATE_LIMIT: "1000000",
    PRINCIPAL_MSG_RATE_LIMIT: "1000000",
    PRINCIPAL_SOCKET_LIMIT: "1000000",
    HTTP_RATE_LIMIT: "1000000",
    HTTP_WRITE_RATE_LIMIT: "1000000",
    HTTP_IP_RATE_LIMIT: "1000000",
    HTTP_IP_WRITE_RATE_LIMIT: "1000000",
    // `npm run bench -- --gateway-env=DATABASE_POOL_MAX=40`: try a setting without editing code.
    ...(JSON.parse(process.env.BENCH_GATEWAY_ENV ?? "{}") as Record<string, string>),
  });
  const gateway = await createGateway({ config, databaseUrl, migrate: false });
  countNotifies(gateway.realtime.cluster.pool);
  const pool = gateway.database.pool;
  const waiting = { sum: 0, max: 0, samples: 0 };
  setInterval(() => {
    waiting.sum += pool.waitingCount;
    waiting.samples++;
    if (pool.waitingCount > waiting.max) waiting.max = pool.waitingCount;
  }, 10).unref();
  const port = await gateway.listen();
  return {
    port,
    connections: () => gateway.metrics.socket.active_connections,
    backlog: () => busy(pool, 0) + busy(gateway.realtime.cluster.pool, 1),
    listening: () => gateway.realtime.clusterReady(),
    async breakdown() {
      const ack = await sumAndCount(gateway.metrics.ackLatency, "message");
      const append = await sumAndCount(gateway.metrics.appendLatency);
      const out: Breakdown = {
        ackCount: ack.count,
        ackSumMs: ack.sum,
        appendCount: append.count,
        appendSumMs: append.sum,
        poolWaitingSum: waiting.sum,
        poolWaitingMax: waiting.max,
        poolSamples: waiting.samples,
      };
      waiting.max = 0;
      return out;
    },
    close: () => gateway.close(),
  };
}

async function startPlain(): Promise<Running> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 6, keepAlive: true });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  countNotifies(pool);
  const httpServer = createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(pool, { payloadThreshold: 7_000 }),
    serveClient: false,
  });
  let seq = 0;
  io.of("/agents").on("connection", (socket) => {
    socket.on("join_session", (payload: { sessionId: string }, ack?: (r: unknown) => void) => {
      void socket.join(`session_${payload.sessionId}`);
      ack?.({ status: "success", sessionId: payload.sessionId, headSeq: 0 });
    });
    socket.on("message", (payload: Record<string, unknown>, ack?: (r: unknown) => void) => {
      const stored = { ...payload, seq: ++seq, createdAt: Date.now(), status: "sent" };
      socket.to(`session_${String(payload.sessionId)}`).emit("message", stored);
      ack?.({ status: "success", id: payload.id, seq: stored.seq, createdAt: stored.createdAt });
    });
    relayLive(socket, () => ++seq);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  return {
    port: (httpServer.address() as AddressInfo).port,
    connections: () => io.engine.clientsCount,
    backlog: () => busy(pool, 1),
    // The adapter's PubSubClient holds `client` while its LISTEN connection is up.
    listening: () =>
      (io.of("/agents").adapter as unknown as { client?: { client?: unknown } }).client?.client !==
      undefined,
    async close() {
      for (const socket of io.of("/agents").sockets.values()) socket.disconnect(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await pool.end().catch(() => {});
    },
  };
}

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const running = kind === "gateway" ? await startGateway() : await startPlain();
const gc = (globalThis as { gc?: () => void }).gc;

// CPU profiles of exactly the measured runs (not start-up), on request.
let inspector: Session | undefined;

const parent = serveParent(
  {
    /** Diagnostic: JS heap self size and count per constructor (after a full GC). */
    async heapSummary() {
      gc?.();
      const chunks: Buffer[] = [];
      for await (const chunk of v8.getHeapSnapshot()) chunks.push(chunk as Buffer);
      const snap = JSON.parse(Buffer.concat(chunks).toString()) as {
        snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
        nodes: number[];
        strings: string[];
      };
      const fields = snap.snapshot.meta.node_fields;
      const width = fields.length;
      const typeAt = fields.indexOf("type");
      const nameAt = fields.indexOf("name");
      const sizeAt = fields.indexOf("self_size");
      const types = snap.snapshot.meta.node_types[0];
      const out: Record<string, { count: number; bytes: number }> = {};
      for (let i = 0; i < snap.nodes.length; i += width) {
        const type = types[snap.nodes[i + typeAt] as number] ?? "?";
        const name =
          type === "object" || type === "closure"
            ? snap.strings[snap.nodes[i + nameAt] as number]
            : "";
        const key = `${type}:${name}`;
        const entry = out[key] ?? { count: 0, bytes: 0 };
        out[key] = entry;
        entry.count++;
        entry.bytes += snap.nodes[i + sizeAt] as number;
      }
      return out;
    },
    async profileStart() {
      inspector ??= new Session();
      inspector.connect();
      await inspector.post("Profiler.enable");
      await inspector.post("Profiler.setSamplingInterval", { interval: 1_000 });
      await inspector.post("Profiler.start");
    },
    async profileStop(request) {
      if (!inspector) return;
      const { profile } = await inspector.post("Profiler.stop");
      await writeFile(String(request.file), JSON.stringify(profile));
      inspector.disconnect();
    },
    async stats(request) {
      if (request.gc && gc) {
        gc();
        gc();
      }
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      const stats = {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        cpuMicros: cpu.user + cpu.system,
        notifies: counters.notifies,
        writes: Object.fromEntries(writes),
        attachments: counters.attachments,
        connections: running.connections(),
        backlog: running.backlog(),
        listening: running.listening(),
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
      };
      if (request.resetLoop) loop.reset();
      return running.breakdown ? { ...stats, breakdown: await running.breakdown() } : stats;
    },
  },
  () => running.close(),
);
parent.ready({ port: running.port, pid: process.pid });
