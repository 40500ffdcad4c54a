/**
 * One principal floods, another user times its acks (issue 9, part 5). A gateway child on its own
 * embedded Postgres, loopback only, about 15 s of load:
 *
 *   npx tsx bench/principal-flood.ts [--root=DIR] [--sockets=20] [--quiet-s=3] [--flood-s=10]
 *     [--env=NAME=value,NAME=value]   gateway settings for this run (e.g. a tighter limit)
 *
 * `--root` is the gateway source tree to run (default this one), so the same script measures
 * another commit: `git archive <commit> | tar -x -C DIR` and link `DIR/node_modules` to ours.
 * Phases: the user alone for `--quiet-s` (its baseline), then the flooder's `--sockets` sockets
 * each sending a message as soon as the previous one is acked (refused or not) while the user
 * keeps sending one message every 50 ms in a session of its own.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { io, type Socket } from "socket.io-client";

type Ack = { status: string; code?: string };

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k as string, v.join("=")];
  }),
);
const ROOT = path.resolve(args.get("root") || fileURLToPath(new URL("..", import.meta.url)));
const SOCKETS = Number(args.get("sockets") || 20);
const QUIET_MS = Number(args.get("quiet-s") || 3) * 1000;
const FLOOD_MS = Number(args.get("flood-s") || 10) * 1000;
const CALM_EVERY_MS = 50;
const GATEWAY_ENV = Object.fromEntries(
  (args.get("env") ?? "")
    .split(",")
    .filter(Boolean)
    .map((pair) => pair.split("=") as [string, string]),
);

async function startGateway(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      AUTH_DEV_TOKENS: "true",
      LOG_LEVEL: "info",
      NODE_ID: "principal-flood",
      ...GATEWAY_ENV,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
    lines.on("line", (line) => {
      if (!line.includes("gateway listening")) return;
      resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
    });
  });
  lines.removeAllListeners("line");
  lines.on("line", () => {});
  return { child, url };
}

async function post<T>(url: string, route: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${url}${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

function connect(url: string, nsp: string, token: string): Promise<Socket> {
  const socket = io(`${url}${nsp}`, {
    auth: { token },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(err));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50).toFixed(2),
    p99: percentile(sorted, 99).toFixed(2),
    max: (sorted.at(-1) ?? Number.NaN).toFixed(2),
  };
}

interface FloodCounts {
  sockets: number;
  refusedSockets: Record<string, number>;
  accepted: number;
  refused: number;
  other: number;
  seconds: number;
}

/** Forks this script as the flooder; resolves once its sockets are connected. */
async function startFlooder(url: string, token: string, sessionId: string) {
  const child = fork(fileURLToPath(import.meta.url), ["--role=flood"], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      FLOOD_URL: url,
      FLOOD_TOKEN: token,
      FLOOD_SESSION: sessionId,
      FLOOD_SOCKETS: String(SOCKETS),
    },
  });
  let ready!: () => void;
  const connected = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const done = new Promise<FloodCounts>((resolve, reject) => {
    child.on("message", (m: { type: string; counts?: FloodCounts }) => {
      if (m.type === "ready") ready();
      if (m.type === "done") resolve(m.counts as FloodCounts);
    });
    child.once("exit", (code) => reject(new Error(`the flooder exited with ${code}`)));
  });
  await Promise.race([connected, done]);
  return { child, done };
}

/** The flooder: SOCKETS sockets of one agent, each sending as soon as its last ack came back. */
async function flooder() {
  const url = process.env.FLOOD_URL as string;
  const sessionId = process.env.FLOOD_SESSION as string;
  const sockets: Socket[] = [];
  const refusedSockets: Record<string, number> = {};
  for (let i = 0; i < Number(process.env.FLOOD_SOCKETS); i++) {
    try {
      sockets.push(await connect(url, "/agents", process.env.FLOOD_TOKEN as string));
    } catch (err) {
      const code = (err as { data?: { code?: string } }).data?.code ?? "?";
      refusedSockets[code] = (refusedSockets[code] ?? 0) + 1;
    }
  }
  const go = new Promise((resolve) => process.once("message", resolve));
  process.send?.({ type: "ready" });
  await go;
  let flooding = true;
  process.once("message", () => {
    flooding = false;
  });
  const counts = { accepted: 0, refused: 0, other: 0 };
  let seq = 0;
  const started = performance.now();
  await Promise.all(
    sockets.map(async (socket) => {
      while (flooding) {
        const ack = (await socket
          .timeout(30_000)
          .emitWithAck("message", {
            id: `flood-${seq++}`,
            sessionId,
            content: "flood",
            type: "text",
          })
          .catch(() => ({ status: "error", code: "TIMEOUT" }))) as Ack;
        if (ack.status === "success") counts.accepted++;
        else if (ack.code === "RATE_LIMITED") counts.refused++;
        else counts.other++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.close();
  process.send?.({
    type: "done",
    counts: { sockets: sockets.length, refusedSockets, ...counts, seconds },
  });
  process.disconnect();
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "principal-flood-"));
  const { child, url } = await startGateway(dataDir);
  const sockets: Socket[] = [];
  try {
    const floodToken = (
      await post<{ token: string }>(url, "/v1/dev/token", {
        sub: "flooder",
        kind: "agent",
      })
    ).token;
    const calmToken = (
      await post<{ token: string }>(url, "/v1/dev/token", {
        sub: "calm",
        kind: "user",
      })
    ).token;
    const floodSession = await post<{ id: string }>(url, "/v1/sessions", {}, floodToken);
    const calmSession = await post<{ id: string }>(url, "/v1/sessions", {}, calmToken);

    const calm = await connect(url, "/clients", calmToken);
    sockets.push(calm);
    // The flooder runs in a process of its own: spinning on fast refusals in this one would
    // delay the calm user's ack callbacks and so inflate the very latency being measured.
    const flood = await startFlooder(url, floodToken, floodSession.id);

    let calmSeq = 0;
    const calmErrors: Record<string, number> = {};
    async function calmPhase(ms: number): Promise<number[]> {
      const samples: number[] = [];
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const next = performance.now() + CALM_EVERY_MS;
        const started = performance.now();
        const ack = (await calm.timeout(10_000).emitWithAck("message", {
          id: `calm-${calmSeq++}`,
          sessionId: calmSession.id,
          content: "hello",
          type: "text",
        })) as Ack;
        if (ack.status === "success") samples.push(performance.now() - started);
        else calmErrors[ack.code ?? "?"] = (calmErrors[ack.code ?? "?"] ?? 0) + 1;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      return samples;
    }

    const quiet = await calmPhase(QUIET_MS);

    flood.child.send("go");
    const loud = await calmPhase(FLOOD_MS);
    flood.child.send("stop");
    const counts = await flood.done;
    const floodSeconds = counts.seconds;

    const result = {
      root: ROOT,
      gatewayEnv: GATEWAY_ENV,
      flooderSockets: counts.sockets,
      flooderRefusedSockets: counts.refusedSockets,
      calmAloneMs: summary(quiet),
      calmDuringFloodMs: summary(loud),
      calmErrors,
      floodAcceptedPerSecond: Math.round(counts.accepted / floodSeconds),
      floodRefusedPerSecond: Math.round(counts.refused / floodSeconds),
      floodOtherErrors: counts.other,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const s of sockets) s.close();
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args.get("role") === "flood") await flooder();
else await main();
