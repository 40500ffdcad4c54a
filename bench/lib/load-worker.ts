/**
 * One load-generator process: holds socket.io-client sockets, sends messages (at a rate, or
 * closed-loop with a window of unacknowledged sends per socket), and records send-to-ack and
 * send-to-receive latencies in histograms the orchestrator merges. Several run side by side so
 * the load uses every core.
 *
 * Each message carries `metadata: { r: runId, t: <send time, CLOCK_MONOTONIC ms>, m: 0 | 1 }`;
 * `m` is 1 for sends inside the measured window, and only those are counted on either side.
 */
import { io as connectSocket, type Socket } from "socket.io-client";
import { chatMessage, filler } from "../../loadtest/lib/scenarios.js";
import { createTokenVerifier } from "../../src/auth/tokens.js";
import { serveParent } from "./child.js";
import { Histogram, nowMs } from "./histogram.js";
import { liveHandlers } from "./live-worker.js";
import type {
  ConnectRequest,
  ConnectResult,
  RunRequest,
  RunResult,
  WorkerStats,
} from "./protocol.js";

const workerIndex = Number(process.argv[2] ?? 0);

export interface Held {
  socket: Socket;
  group: string;
  sub: string;
  sessionId: string | undefined;
  send: boolean;
  receivers: number;
}

let held: Held[] = [];
let closingSockets = false;
/** Sockets being closed on purpose: their disconnect is not counted as unexpected. */
const closing = new Set<Held>();
const totals = { connected: 0, disconnects: 0, connectErrors: 0, sent: 0, acked: 0, received: 0 };
const disconnectReasons: Record<string, number> = {};
/** Per connect group (one target's sockets in a scenario): live sockets and unexpected drops. */
const groups = new Map<string, { connected: number; disconnects: number }>();
let firstConnectError: string | undefined;

interface Receiving {
  hist: Histogram;
  received: number;
  warmReceived: number;
}
const receiving = new Map<string, Receiving>();

function onMessage(message: { metadata?: { r?: string; t?: number; m?: number } }) {
  totals.received++;
  const meta = message?.metadata;
  if (!meta?.r || typeof meta.t !== "number") return;
  let run = receiving.get(meta.r);
  if (!run) {
    run = { hist: new Histogram(), received: 0, warmReceived: 0 };
    receiving.set(meta.r, run);
  }
  if (meta.m === 1) {
    run.received++;
    run.hist.record(nowMs() - meta.t);
  } else run.warmReceived++;
}

function openOne(
  url: string,
  token: string | undefined,
  sub: string,
  localAddress: string | undefined,
) {
  const socket = connectSocket(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 30_000,
    // The plain server has no tokens: it takes the principal's id from `sub` (typing, receipts).
    auth: token ? { token } : { sub },
    ...(localAddress ? { localAddress } : {}),
  } as Parameters<typeof connectSocket>[1]);
  return new Promise<Socket>((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err: Error & { data?: { code?: string } }) => {
      socket.close();
      reject(new Error(err.data?.code ? `${err.data.code}: ${err.message}` : err.message));
    });
  });
}

async function connectAll(request: ConnectRequest): Promise<ConnectResult> {
  const tokens = request.secret ? createTokenVerifier({ secret: request.secret }) : undefined;
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let joinFailed = 0;
  let opened = 0;
  const ns = request.namespace;
  const group = groups.get(request.group) ?? { connected: 0, disconnects: 0 };
  groups.set(request.group, group);
  const open = async () => {
    for (;;) {
      const i = next++;
      const spec = request.sockets[i];
      if (!spec) return;
      const url = `${request.urls[spec.node] ?? request.urls[0]}${ns}`;
      try {
        const token = tokens
          ? await tokens.sign({ sub: spec.sub, kind: "agent" }, 4 * 3600)
          : undefined;
        const socket = await openOne(url, token, spec.sub, spec.localAddress);
        totals.connected++;
        group.connected++;
        const entry: Held = {
          socket,
          group: request.group,
          sub: spec.sub,
          sessionId: spec.sessionId,
          send: spec.send,
          receivers: spec.receivers,
        };
        socket.on("message", onMessage);
        socket.on("disconnect", (reason) => {
          totals.connected--;
          group.connected--;
          if (closingSockets || closing.has(entry)) return;
          totals.disconnects++;
          group.disconnects++;
          disconnectReasons[reason] = (disconnectReasons[reason] ?? 0) + 1;
        });
        held.push(entry);
        opened++;
        if (spec.sessionId) {
          const ack = (await socket
            .timeout(30_000)
            .emitWithAck("join_session", { sessionId: spec.sessionId })) as { status: string };
          if (ack.status !== "success") joinFailed++;
        }
      } catch (err) {
        failed++;
        totals.connectErrors++;
        firstConnectError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, open));
  return {
    connected: opened,
    failed,
    joinFailed,
    firstError: firstConnectError,
    ms: Math.round(performance.now() - started),
  };
}

async function run(request: RunRequest): Promise<RunResult> {
  const senders = held.filter((h) => h.send && h.sessionId && h.group === request.group);
  const content = filler(request.contentBytes);
  const ackHist = new Histogram();
  const errors: Record<string, number> = {};
  let sent = 0;
  let measuredSent = 0;
  let expected = 0;
  let acked = 0;
  let outstanding = 0;
  let n = 0;
  const started = nowMs();
  const measureFrom = started + request.warmupMs;
  const stopAt = measureFrom + request.measureMs;
  let allAcked: (() => void) | undefined;

  const sendOne = (h: Held, onAcked?: () => void) => {
    const t = nowMs();
    const m = t >= measureFrom ? 1 : 0;
    sent++;
    totals.sent++;
    if (m) {
      measuredSent++;
      expected += h.receivers;
    }
    outstanding++;
    h.socket.emit(
      "message",
      chatMessage(`${request.runId}-${workerIndex}-${n++}`, h.sessionId as string, content, {
        r: request.runId,
        t,
        m,
      }),
      (ack: { status: string; code?: string }) => {
        outstanding--;
        if (ack?.status === "success") {
          acked++;
          totals.acked++;
          if (m) ackHist.record(nowMs() - t);
        } else {
          const code = ack?.code ?? "UNKNOWN";
          errors[code] = (errors[code] ?? 0) + 1;
        }
        onAcked?.();
        if (outstanding === 0) allAcked?.();
      },
    );
  };

  if (senders.length > 0) {
    if (request.mode === "closed") {
      await new Promise<void>((resolve) => {
        let live = 0;
        for (const h of senders) {
          const loop = () => {
            if (nowMs() < stopAt) sendOne(h, loop);
            else if (--live === 0) resolve();
          };
          for (let w = 0; w < request.window; w++) {
            live++;
            sendOne(h, loop);
          }
        }
      });
    } else {
      await new Promise<void>((resolve) => {
        let rr = 0;
        const perMs = request.rate / 1000;
        const maxBurst = Math.max(1, Math.ceil(request.rate * 0.05));
        let issued = 0;
        const tick = () => {
          const now = nowMs();
          if (now >= stopAt) return resolve();
          let due = Math.floor((now - started) * perMs) - issued;
          if (due > maxBurst) {
            // Fell behind (the process was starved): skip rather than burst; the achieved rate
            // in the result shows it.
            issued += due - maxBurst;
            due = maxBurst;
          }
          for (let i = 0; i < due; i++) {
            sendOne(senders[rr++ % senders.length] as Held);
            issued++;
          }
          setTimeout(tick, 1);
        };
        tick();
      });
    }
  }
  const sendSeconds = (nowMs() - started) / 1000;
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      allAcked = resolve;
      setTimeout(resolve, request.ackTimeoutMs);
    });
  }
  return {
    sent,
    measuredSent,
    expected,
    acked,
    unacked: outstanding,
    errors,
    ack: ackHist.toData(),
    sendSeconds,
    measuredSeconds: request.measureMs / 1000,
  };
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage();
  return {
    ...totals,
    disconnectReasons: { ...disconnectReasons },
    held: held.length,
    groups: Object.fromEntries(groups),
    cpuMicros: cpu.user + cpu.system,
    rss: process.memoryUsage().rss,
  };
}

/** Closes one group's sockets (or all), waiting until they are closed. */
async function disconnect(group?: string) {
  const leaving = held.filter((h) => group === undefined || h.group === group);
  held = held.filter((h) => !leaving.includes(h));
  for (const h of leaving) {
    closing.add(h);
    h.socket.close();
  }
  if (group !== undefined) groups.delete(group);
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const h of leaving) closing.delete(h);
}

async function disconnectAll() {
  closingSockets = true;
  await disconnect();
  receiving.clear();
}

const parent = serveParent(
  {
    connect: (r) => connectAll(r as unknown as ConnectRequest),
    run: (r) => run(r as unknown as RunRequest),
    received: (r) => receiving.get(String(r.runId))?.received ?? 0,
    collect(r) {
      const got = receiving.get(String(r.runId));
      receiving.delete(String(r.runId));
      return {
        received: got?.received ?? 0,
        warmReceived: got?.warmReceived ?? 0,
        latency: (got?.hist ?? new Histogram()).toData(),
      };
    },
    stats: () => stats(),
    disconnect: (r) => disconnect(typeof r.group === "string" ? r.group : undefined),
    // Streams, typing, receipts and presence (bench/lib/live-worker.ts).
    ...liveHandlers((group) => held.filter((h) => h.group === group), workerIndex),
  },
  disconnectAll,
);

setInterval(
  () => parent.emit({ type: "progress", worker: workerIndex, ...stats() }),
  1_000,
).unref();
parent.ready({ pid: process.pid });
