/**
 * Memory held for clients that do not read (issue 9, part 2). A gateway node runs in a child
 * process, so the RSS measured is its own, on an embedded Postgres in a temp folder (or scratch
 * databases on DATABASE_URL). One session holds 500 messages of 64 KiB. Then:
 *
 * 1. sockets: 30 raw WebSocket clients connect to /clients, stop reading (their TCP sockets are
 *    paused) and each asks 20 full `sync` pages (afterSeq 0, limit 500);
 * 2. http: 20 concurrent `GET /v1/sessions/:id/messages?limit=500`.
 *
 * During each phase the child's RSS is sampled every 50 ms, and a well-behaved socket.io-client
 * socket pings the node (its ack times are reported). A phase whose RSS passes RSS_LIMIT_MB
 * (default 3000) is stopped and reported as such, since the machine is shared.
 *
 *   npx tsx bench/non-reading.ts   (knobs: SOCKETS, PAGES, HTTP_READS, RSS_LIMIT_MB, BENCH_GATEWAY_ENV)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { loadConfig } from "../src/config.js";
import { createGateway } from "../src/gateway.js";
import { openDatabases } from "./lib/target.js";

const SOCKETS = Number(process.env.SOCKETS ?? 30);
const PAGES = Number(process.env.PAGES ?? 20);
const HTTP_READS = Number(process.env.HTTP_READS ?? 20);
const MESSAGES = 500;
const CONTENT = "x".repeat(65_536);
const RSS_LIMIT_MB = Number(process.env.RSS_LIMIT_MB ?? 3_000);
const SECRET = "bench-secret-0123456789-0123456789-abcdef";

if (process.argv[2] === "node") {
  // The child: one gateway node; prints its port.
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: process.argv[3],
    AUTH_JWT_SECRET: SECRET,
    AUTH_DEV_TOKENS: "true",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    NODE_ID: "non-reading",
    // BENCH_GATEWAY_ENV='{"SOCKET_MAX_BUFFER_BYTES":"2097152"}': try a setting without editing code.
    ...(JSON.parse(process.env.BENCH_GATEWAY_ENV ?? "{}") as Record<string, string>),
  });
  const gateway = await createGateway({ config, databaseUrl: process.argv[3] as string });
  const port = await gateway.listen();
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function startNode(databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const file = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", file, "node", databaseUrl], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`node exited at start (${code})`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      if (line.startsWith('{"listening"'))
        resolve((JSON.parse(line) as { listening: number }).listening);
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** `tkr_socket_drops_total{reason="outgoing_buffer"}` from the node's /metrics (0 without it). */
async function drops(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("tkr_socket_drops_total{") && l.includes('reason="outgoing_buffer"'));
  return Number(line?.split(" ").at(-1) ?? 0);
}

async function json<T>(url: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, { ...init, headers });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Samples the child's RSS while `work` runs, and pings it with a good socket meanwhile. */
async function phase(
  name: string,
  pid: number,
  good: ReturnType<typeof io>,
  work: (stop: Promise<void>) => Promise<void>,
) {
  const before = rssMb(pid);
  let peak = before;
  let stopped = false;
  let exceed: () => void = () => {};
  const overLimit = new Promise<void>((resolve) => {
    exceed = resolve;
  });
  const sampler = setInterval(() => {
    const now = rssMb(pid);
    peak = Math.max(peak, now);
    if (now > RSS_LIMIT_MB && !stopped) {
      stopped = true;
      exceed();
    }
  }, 50);
  const pings: number[] = [];
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const t = performance.now();
      await good.timeout(30_000).emitWithAck("ping", {});
      pings.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const started = performance.now();
  await Promise.race([work(overLimit), overLimit]);
  pinging = false;
  await pinger.catch(() => {});
  clearInterval(sampler);
  const after = rssMb(pid);
  pings.sort((a, b) => a - b);
  return {
    phase: name,
    rssBeforeMb: before,
    rssPeakMb: peak,
    peakDeltaMb: peak - before,
    rssAfterMb: after,
    stoppedAtLimit: stopped,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    pingMaxMs: Math.round(pings.at(-1) ?? 0),
    pingP50Ms: Math.round(pings[Math.floor(pings.length / 2)] ?? 0),
  };
}

async function main() {
  const dbs = await openDatabases({
    databaseUrl: process.env.DATABASE_URL,
    log: (l) => console.error(l),
  });
  const { child, url } = await startNode(dbs.gatewayUrl);
  const pid = child.pid as number;
  try {
    const token = (
      await json<{ token: string }>(`${url}/v1/dev/token`, {
        method: "POST",
        body: JSON.stringify({ sub: "alice", kind: "user" }),
      })
    ).token;
    const session = await json<{ id: string }>(`${url}/v1/sessions`, {
      method: "POST",
      token,
      body: "{}",
    });
    for (let i = 0; i < MESSAGES; i++) {
      await json(`${url}/v1/sessions/${session.id}/messages`, {
        method: "POST",
        token,
        body: JSON.stringify({ id: `m${i}`, content: CONTENT, type: "text" }),
      });
    }
    const good = io(`${url}/clients`, {
      auth: { token },
      transports: ["websocket"],
      forceNew: true,
    });
    await new Promise<void>((r) => good.once("connect", () => r()));
    await new Promise((r) => setTimeout(r, 1_000));

    const sockets = await phase("sockets", pid, good, async (overLimit) => {
      const wss: WebSocket[] = [];
      let over = false;
      void overLimit.then(() => {
        over = true;
      });
      const exceeded = () => over;
      for (let s = 0; s < SOCKETS; s++) {
        const ws = new WebSocket(
          `${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`,
        );
        ws.on("error", () => {});
        await new Promise<void>((resolve) =>
          ws.on("message", (data) => {
            const text = data.toString();
            if (text.startsWith("0{")) ws.send(`40/clients,${JSON.stringify({ token })}`);
            else if (text.startsWith("40/clients,")) resolve();
          }),
        );
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        for (let p = 1; p <= PAGES; p++) {
          ws.send(
            `42/clients,${p}${JSON.stringify(["sync", { sessionId: session.id, afterSeq: 0, limit: 500 }])}`,
          );
        }
        wss.push(ws);
      }
      // Done when the node has dropped every socket, or after 20 s (the original code drops none).
      // A paused client never sees the close, so the node's own counter says.
      const deadline = Date.now() + 20_000;
      let dropped = 0;
      while (Date.now() < deadline && !exceeded()) {
        dropped = await drops(url);
        if (dropped >= SOCKETS) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const ws of wss) ws.terminate();
      console.error(`sockets phase: ${dropped} of ${SOCKETS} dropped by the node`);
    });
    await new Promise((r) => setTimeout(r, 2_000));

    const http = await phase("http", pid, good, async (overLimit) => {
      const statuses: number[] = [];
      const reads = Array.from({ length: HTTP_READS }, async () => {
        const res = await fetch(`${url}/v1/sessions/${session.id}/messages?afterSeq=0&limit=500`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      });
      await Promise.race([Promise.all(reads), overLimit]);
      const counts: Record<number, number> = {};
      for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
      console.error(`http phase: statuses ${JSON.stringify(counts)}`);
    });
    const healthy = (await fetch(`${url}/healthz`)).status === 200 && child.exitCode === null;
    good.close();
    console.log(JSON.stringify({ sockets, http, healthyAfter: healthy }, null, 2));
  } finally {
    child.kill("SIGKILL");
    await dbs.close();
  }
}
