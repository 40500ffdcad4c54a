/**
 * `npm run bench:edge`: what the edge build costs and how fast it publishes.
 *
 * - Bundle size of the Workers and Deno builds, raw and gzip (what Cloudflare's size limit counts).
 * - Cold start: from spawning the runtime (workerd, Deno) to its first 200 on `/healthz`, and to
 *   its first 200 on `/readyz` (the first Postgres round trip), median of BENCH_EDGE_STARTS runs.
 * - Publish latency: one message at a time (BENCH_EDGE_MESSAGES, default 300, after 20 warm-up
 *   ones) POSTed to the API, timed until its ack (the HTTP response) and until a socket.io-client
 *   socket connected to a gateway node receives it; through workerd, Deno and the node's own HTTP
 *   API, each on the same node, session and socket.
 *
 * Everything runs here against an embedded Postgres in a temp folder (deleted afterwards) and one
 * gateway node; all traffic stays on 127.0.0.1. The machine is shared: figures are indicative.
 * Results: a table on stdout and JSON in bench-results/edge-<timestamp>.json.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { io, type Socket } from "socket.io-client";
import { loadConfig } from "../src/config.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { buildEdge } from "../src/edge/build.js";
import { startDeno } from "../src/edge/deno-process.js";
import { startWorkerd } from "../src/edge/workerd.js";
import { createGateway } from "../src/gateway.js";
import { createLogger } from "../src/observability/logger.js";
import type { StoredMessage } from "../src/protocol/index.js";

const MESSAGES = Number(process.env.BENCH_EDGE_MESSAGES || 300);
const STARTS = Number(process.env.BENCH_EDGE_STARTS || 5);
const WARMUP = 20;
const SECRET = "bench-edge-secret-0123456789-0123456789";

interface Server {
  url: string;
  close(): Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

async function untilOk(url: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** p50 of GET `path` one at a time: on workerd each one opens its own Postgres connection. */
async function getP50(base: string, path: string, count = 50): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(`${base}${path}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    times.push(performance.now() - started);
  }
  return round(
    percentile(
      times.sort((a, b) => a - b),
      50,
    ),
  );
}

interface ColdStart {
  healthzMs: number;
  readyzMs: number;
}

async function coldStart(start: () => Promise<Server>): Promise<ColdStart> {
  const started = performance.now();
  const server = await start();
  try {
    await untilOk(`${server.url}/healthz`);
    const healthzMs = performance.now() - started;
    await untilOk(`${server.url}/readyz`);
    return { healthzMs, readyzMs: performance.now() - started };
  } finally {
    await server.close();
  }
}

interface Latency {
  count: number;
  ackP50: number;
  ackP99: number;
  socketP50: number;
  socketP99: number;
  socketMax: number;
}

async function publishLatency(
  base: string,
  token: string,
  sessionId: string,
  socket: Socket,
  tag: string,
): Promise<Latency> {
  const waiting = new Map<string, (at: number) => void>();
  const onMessage = (message: StoredMessage) => waiting.get(message.id)?.(performance.now());
  socket.on("message", onMessage);
  const acks: number[] = [];
  const arrivals: number[] = [];
  try {
    for (let i = 0; i < WARMUP + MESSAGES; i++) {
      const id = `${tag}-${i}`;
      const arrived = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${id} never reached the socket`)), 10_000);
        waiting.set(id, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
      const started = performance.now();
      const response = await fetch(`${base}/v1/sessions/${sessionId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ id, content: `bench ${i}`, type: "text" }),
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`${tag}: ${id} answered ${response.status}`);
      const acked = performance.now();
      const at = await arrived;
      waiting.delete(id);
      if (i >= WARMUP) {
        acks.push(acked - started);
        arrivals.push(at - started);
      }
    }
  } finally {
    socket.off("message", onMessage);
  }
  acks.sort((a, b) => a - b);
  arrivals.sort((a, b) => a - b);
  return {
    count: arrivals.length,
    ackP50: round(percentile(acks, 50)),
    ackP99: round(percentile(acks, 99)),
    socketP50: round(percentile(arrivals, 50)),
    socketP99: round(percentile(arrivals, 99)),
    socketMax: round(arrivals.at(-1) ?? Number.NaN),
  };
}

async function main(): Promise<void> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), "tkr-bench-edge-"));
  const bundles = {
    worker: await buildEdge("worker", outDir),
    deno: await buildEdge("deno", outDir),
  };
  const sizes = Object.fromEntries(
    await Promise.all(
      Object.entries(bundles).map(async ([name, bundle]) => {
        const raw = await readFile(bundle.file);
        return [name, { rawBytes: raw.length, gzipBytes: gzipSync(raw).length }] as const;
      }),
    ),
  );

  const dataDir = await mkdtemp(path.join(os.tmpdir(), "tkr-bench-edge-pg-"));
  const postgres = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  const cleanups: Array<() => Promise<void>> = [
    () => postgres.stop(),
    () => rm(outDir, { recursive: true, force: true }),
  ];
  try {
    const config = loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: postgres.url,
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: "silent",
      NODE_ID: "bench-node",
    });
    const gateway = await createGateway({
      config,
      databaseUrl: postgres.url,
      logger: createLogger({ level: "silent", nodeId: config.nodeId }),
    });
    await gateway.listen();
    cleanups.unshift(() => gateway.close());

    const env = { DATABASE_URL: postgres.url, AUTH_JWT_SECRET: SECRET, LOG_LEVEL: "silent" };
    const workerd = () =>
      startWorkerd({ script: bundles.worker.file, env, port: 0, stdio: "ignore" });
    const deno = () =>
      startDeno({ script: bundles.deno.file, env: { ...env, PORT: "0" }, stderr: "ignore" });

    const starts: Record<string, ColdStart[]> = { workerd: [], deno: [] };
    for (let i = 0; i < STARTS; i++) {
      starts.workerd?.push(await coldStart(workerd));
      starts.deno?.push(await coldStart(deno));
    }
    const median = (values: number[]) =>
      round(
        percentile(
          [...values].sort((a, b) => a - b),
          50,
        ),
      );
    const coldStarts = Object.fromEntries(
      Object.entries(starts).map(([name, runs]) => [
        name,
        {
          runs: runs.length,
          healthzMedianMs: median(runs.map((r) => r.healthzMs)),
          readyzMedianMs: median(runs.map((r) => r.readyzMs)),
        },
      ]),
    );

    const token = await gateway.tokens.sign({ sub: "bench-agent", kind: "agent" });
    const created = await fetch(`${gateway.url}/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ members: ["bench-user"] }),
    });
    const { id: sessionId } = (await created.json()) as { id: string };
    const socket = io(`${gateway.url}/clients`, {
      auth: { token: await gateway.tokens.sign({ sub: "bench-user", kind: "user" }) },
      transports: ["websocket"],
      reconnection: false,
    });
    cleanups.unshift(async () => {
      socket.close();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    const joined = (await socket
      .timeout(5_000)
      .emitWithAck("join_session", { sessionId, lastSeq: 0 })) as { status: string };
    if (joined.status !== "success") throw new Error("join_session failed");

    const latency: Record<string, Latency> = {};
    const readyzP50: Record<string, number> = {};
    latency.node = await publishLatency(gateway.url, token, sessionId, socket, "node");
    readyzP50.node = await getP50(gateway.url, "/readyz");
    const w = await workerd();
    try {
      latency.workerd = await publishLatency(w.url, token, sessionId, socket, "workerd");
      readyzP50.workerd = await getP50(w.url, "/readyz");
    } finally {
      await w.close();
    }
    const d = await deno();
    try {
      latency.deno = await publishLatency(d.url, token, sessionId, socket, "deno");
      readyzP50.deno = await getP50(d.url, "/readyz");
    } finally {
      await d.close();
    }

    const result = {
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        loadAverage: os.loadavg(),
        note: "shared, noisy machine: indicative figures",
      },
      messages: MESSAGES,
      sizes,
      coldStarts,
      latency,
      readyzP50,
      packages: bundles.worker.packages,
    };
    console.log("\nBundle (minified ESM)          raw bytes   gzip bytes");
    for (const [name, size] of Object.entries(sizes)) {
      console.log(
        `  ${name.padEnd(28)} ${String(size.rawBytes).padStart(9)}   ${String(size.gzipBytes).padStart(10)}`,
      );
    }
    console.log(`\nCold start, median of ${STARTS} (spawn → first 200)   /healthz     /readyz`);
    for (const [name, cold] of Object.entries(coldStarts)) {
      console.log(
        `  ${name.padEnd(44)} ${`${cold.healthzMedianMs} ms`.padStart(9)}  ${`${cold.readyzMedianMs} ms`.padStart(10)}`,
      );
    }
    console.log(
      `\nPublish, ${MESSAGES} messages one at a time   ack p50/p99       socket p50/p99 (max)`,
    );
    for (const [name, l] of Object.entries(latency)) {
      console.log(
        `  ${name.padEnd(38)} ${`${l.ackP50}/${l.ackP99} ms`.padEnd(17)} ${l.socketP50}/${l.socketP99} ms (${l.socketMax})`,
      );
    }
    console.log(
      `\n/readyz p50 (one Postgres round trip; workerd opens a connection per request): ${Object.entries(
        readyzP50,
      )
        .map(([name, ms]) => `${name} ${ms} ms`)
        .join(", ")}`,
    );
    console.log(
      `load average during the run: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    await mkdir("bench-results", { recursive: true });
    const file = path.join("bench-results", `edge-${Date.now()}.json`);
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\n${file}`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

await main();
