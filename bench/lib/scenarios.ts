/**
 * The five scenarios. Each runs against the gateway, then against the plain Socket.IO server,
 * with the same sockets, sessions and load, and returns both sides' figures.
 */
import {
  type Context,
  connectTarget,
  disconnectGroup,
  type Measured,
  type Placed,
  runMeasured,
  type ServerNode,
  serverStats,
  sourceAddress,
  type Target,
  type TargetKind,
  workerStats,
} from "./harness.js";
import { round } from "./histogram.js";
import { people, streams } from "./live-scenarios.js";
import type { ScenarioName } from "./profiles.js";
import type { ConnectResult, ServerStats } from "./protocol.js";

const KINDS: TargetKind[] = ["gateway", "plain"];

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ConnectionsSide {
  requested: number;
  connected: number;
  failedToConnect: number;
  connectSeconds: number;
  heldSeconds: number;
  /** Live at the end of the hold, as the server counts them. */
  serverConnectionsAtEnd: number;
  unexpectedDisconnects: number;
  rssBaselineMB: number;
  rssHeldMB: number;
  rssPeakMB: number;
  heapPerConnectionKB: number;
  rssPerConnectionKB: number;
  serverCpuWhileHoldingPct: number;
  /** With --heap-summary: JS heap growth per connection by kind of object (top 15). */
  heapPerConnection?: Array<{ what: string; bytes: number; count: number }>;
}

type HeapSummary = Record<string, { count: number; bytes: number }>;

function heapDiff(before: HeapSummary, after: HeapSummary, connections: number) {
  return Object.entries(after)
    .map(([what, a]) => ({
      what,
      bytes: Math.round((a.bytes - (before[what]?.bytes ?? 0)) / connections),
      count: Math.round(((a.count - (before[what]?.count ?? 0)) / connections) * 100) / 100,
    }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, 15);
}

async function connections(ctx: Context) {
  const p = ctx.profile.connections;
  const sides: Partial<
    Record<
      TargetKind,
      { base: ServerStats; connect: ConnectResult; group: string; heap?: HeapSummary }
    >
  > = {};
  // Both targets hold at once (idle sockets cost little CPU), each with its own source addresses
  // when there are more than one address's worth of sockets.
  for (const [k, kind] of KINDS.entries()) {
    const target = ctx.targets[kind];
    const node = target.nodes[0] as ServerNode;
    const group = `${kind}-connections`;
    const placed: Placed[] = Array.from({ length: p.sockets }, (_, i) => ({
      worker: i % ctx.workers.length,
      spec: {
        sub: `${ctx.tag}-c${kind[0]}-${i}`,
        node: 0,
        sessionId: `${ctx.tag}-c${kind[0]}-${Math.floor(i / p.sessionSize)}`,
        send: false,
        receivers: 0,
        ...optional("localAddress", sourceAddress(k * p.sockets + i)),
      },
    }));
    const heap = ctx.options.heapSummary
      ? await node.child.call<HeapSummary>("heapSummary", {}, 300_000)
      : undefined;
    const base = await serverStats(node, { gc: true });
    ctx.label = `connections · ${kind} · connecting ${p.sockets.toLocaleString("en")}`;
    const connect = await connectTarget(ctx, target, group, placed);
    sides[kind] = { base, connect, group, ...(heap ? { heap } : {}) };
  }

  const holdStart = performance.now();
  const peak: Record<TargetKind, number> = { gateway: 0, plain: 0 };
  const cpuStart = await Promise.all(
    KINDS.map((k) => serverStats(ctx.targets[k].nodes[0] as ServerNode)),
  );
  while (performance.now() - holdStart < p.holdMs) {
    const left = p.holdMs - (performance.now() - holdStart);
    ctx.label = `connections · holding ${((performance.now() - holdStart) / 1000).toFixed(0)}/${p.holdMs / 1000} s`;
    await sleep(Math.min(5_000, left));
    for (const kind of KINDS) {
      const s = await serverStats(ctx.targets[kind].nodes[0] as ServerNode);
      peak[kind] = Math.max(peak[kind], s.rss);
    }
  }
  const heldSeconds = (performance.now() - holdStart) / 1000;
  const workers = await workerStats(ctx);
  const out: Partial<Record<TargetKind, ConnectionsSide>> = {};
  for (const [k, kind] of KINDS.entries()) {
    const side = sides[kind];
    if (!side) continue;
    const node = ctx.targets[kind].nodes[0] as ServerNode;
    const end = await serverStats(node, { gc: true });
    const connected = side.connect.connected;
    const drops = workers.reduce((a, w) => a + (w.groups[side.group]?.disconnects ?? 0), 0);
    out[kind] = {
      requested: p.sockets,
      connected,
      failedToConnect: side.connect.failed,
      connectSeconds: round(side.connect.ms / 1000, 1),
      heldSeconds: round(heldSeconds, 1),
      serverConnectionsAtEnd: end.connections,
      unexpectedDisconnects: drops,
      rssBaselineMB: round(side.base.rss / 2 ** 20, 1),
      rssHeldMB: round(end.rss / 2 ** 20, 1),
      rssPeakMB: round(Math.max(peak[kind], end.rss) / 2 ** 20, 1),
      heapPerConnectionKB: connected
        ? round((end.heapUsed - side.base.heapUsed) / connected / 1024, 2)
        : 0,
      rssPerConnectionKB: connected ? round((end.rss - side.base.rss) / connected / 1024, 2) : 0,
      serverCpuWhileHoldingPct: Math.round(
        (end.cpuMicros - (cpuStart[k]?.cpuMicros ?? 0)) / 1e4 / heldSeconds,
      ),
    };
    if (side.heap && connected > 0) {
      const after = await node.child.call<HeapSummary>("heapSummary", {}, 300_000);
      (out[kind] as ConnectionsSide).heapPerConnection = heapDiff(side.heap, after, connected);
    }
  }
  for (const kind of KINDS) await disconnectGroup(ctx, `${kind}-connections`);
  return out;
}

/** Pairs: socket a sends, socket b (on the other worker, and on `receiverNode`) receives. */
function pairs(ctx: Context, name: string, count: number, receiverNode: number): Placed[] {
  const placed: Placed[] = [];
  const w = ctx.workers.length;
  for (let s = 0; s < count; s++) {
    const sessionId = `${ctx.tag}-${name}-${s}`;
    placed.push({
      worker: s % w,
      spec: { sub: `${sessionId}-a`, node: 0, sessionId, send: true, receivers: 1 },
    });
    placed.push({
      worker: (s + 1) % w,
      spec: { sub: `${sessionId}-b`, node: receiverNode, sessionId, send: false, receivers: 0 },
    });
  }
  return placed;
}

interface Side {
  connect: ConnectResult;
  runs: Measured[];
}

/** Connects `placed` to each target in turn and runs `measure` on it. */
async function perTarget(
  ctx: Context,
  scenario: string,
  build: (kind: TargetKind) => Placed[],
  measure: (target: Target, group: string, placed: Placed[]) => Promise<Measured[]>,
): Promise<Partial<Record<TargetKind, Side>>> {
  const out: Partial<Record<TargetKind, Side>> = {};
  for (const kind of KINDS) {
    const target = ctx.targets[kind];
    const group = `${kind}-${scenario}`;
    const placed = build(kind);
    ctx.label = `${scenario} · ${kind} · connecting ${placed.length.toLocaleString("en")}`;
    const connect = await connectTarget(ctx, target, group, placed);
    try {
      out[kind] = { connect, runs: await measure(target, group, placed) };
    } finally {
      await disconnectGroup(ctx, group);
    }
  }
  return out;
}

/** One measured run per rate in `timing.rates`, in order. */
async function runRates(
  ctx: Context,
  target: Target,
  group: string,
  placed: Placed[],
  timing: { rates: number[]; warmupMs: number; measureMs: number },
  describe: (rate: number) => string,
): Promise<Measured[]> {
  const runs: Measured[] = [];
  for (const rate of timing.rates) {
    ctx.label = `${group.replace(`${target.kind}-`, "")} · ${target.kind} · ${describe(rate)}`;
    const { warmupMs, measureMs } = timing;
    const run = { mode: "rate" as const, window: 0, rate, warmupMs, measureMs };
    runs.push(await runMeasured(ctx, target, group, placed, run));
  }
  return runs;
}

async function latency(ctx: Context) {
  const p = ctx.profile.latency;
  return perTarget(
    ctx,
    "latency",
    (kind) => pairs(ctx, `l${kind[0]}`, p.sockets / 2, 0),
    (target, group, placed) =>
      runRates(
        ctx,
        target,
        group,
        placed,
        { ...p, rates: [p.rate] },
        (rate) => `${rate.toLocaleString("en")} msg/s`,
      ),
  );
}

async function throughput(ctx: Context) {
  const p = ctx.profile.throughput;
  const result = await perTarget(
    ctx,
    "throughput",
    (kind) => {
      const placed: Placed[] = [];
      for (let s = 0; s < p.sessions; s++) {
        for (let k = 0; k < p.sendersPerSession; k++) {
          const sessionId = `${ctx.tag}-t${kind[0]}-${s}`;
          placed.push({
            worker: (s * p.sendersPerSession + k) % ctx.workers.length,
            // Every sender has joined the session, so it receives the others' messages.
            spec: {
              sub: `${sessionId}-${k}`,
              node: 0,
              sessionId,
              send: true,
              receivers: p.sendersPerSession - 1,
            },
          });
        }
      }
      return placed;
    },
    async (target, group, placed) => {
      ctx.label = `throughput · ${target.kind} · ${placed.length} senders × window ${p.window}`;
      return [
        await runMeasured(ctx, target, group, placed, {
          mode: "closed",
          rate: 0,
          window: p.window,
          warmupMs: p.warmupMs,
          measureMs: p.measureMs,
        }),
      ];
    },
  );
  // The gateway's acks must mean stored rows.
  const stored = await ctx.pool.query<{ n: number }>(
    "select count(*)::int as n from messages where session_id like $1",
    [`${ctx.tag}-tg-%`],
  );
  return { ...result, gatewayRowsStored: stored.rows[0]?.n ?? 0 };
}

async function fanout(ctx: Context) {
  const p = ctx.profile.fanout;
  return perTarget(
    ctx,
    "fanout",
    (kind) => {
      const placed: Placed[] = [];
      for (let s = 0; s < p.sessions; s++) {
        const sessionId = `${ctx.tag}-f${kind[0]}-${s}`;
        for (let k = 0; k < p.members; k++) {
          placed.push({
            worker: (s + k) % ctx.workers.length,
            spec: {
              sub: `${sessionId}-${k}`,
              node: 0,
              sessionId,
              send: k === 0,
              receivers: k === 0 ? p.members - 1 : 0,
            },
          });
        }
      }
      return placed;
    },
    (target, group, placed) =>
      runRates(
        ctx,
        target,
        group,
        placed,
        p,
        (rate) => `${rate} msg/s to ${p.members}-member sessions`,
      ),
  );
}

async function crossNode(ctx: Context) {
  const p = ctx.profile.crossNode;
  ctx.label = "cross-node · starting node B of each target";
  const nodesB = await Promise.all(KINDS.map((kind) => ctx.startServer(kind, "b")));
  for (const [i, kind] of KINDS.entries()) ctx.targets[kind].nodes.push(nodesB[i] as ServerNode);
  try {
    // Every listener must be up before the first NOTIFY, or it is lost.
    const deadline = performance.now() + 30_000;
    for (;;) {
      const nodes = KINDS.flatMap((kind) => ctx.targets[kind].nodes);
      const up = await Promise.all(nodes.map(async (n) => (await serverStats(n)).listening));
      if (up.every(Boolean)) break;
      if (performance.now() > deadline)
        throw new Error("cluster listeners did not come up in 30 s");
      await sleep(50);
    }
    return await perTarget(
      ctx,
      "cross-node",
      (kind) => pairs(ctx, `x${kind[0]}`, p.pairs, 1),
      (target, group, placed) =>
        runRates(
          ctx,
          target,
          group,
          placed,
          p,
          (rate) => `${rate.toLocaleString("en")} msg/s A → B`,
        ),
    );
  } finally {
    for (const kind of KINDS) {
      const node = ctx.targets[kind].nodes.pop();
      await node?.child.stop().catch(() => {});
    }
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export function runScenario(name: ScenarioName, ctx: Context): Promise<unknown> {
  switch (name) {
    case "connections":
      return connections(ctx);
    case "latency":
      return latency(ctx);
    case "throughput":
      return throughput(ctx);
    case "fanout":
      return fanout(ctx);
    case "cross-node":
      return crossNode(ctx);
    case "streams":
      return streams(ctx);
    case "people":
      return people(ctx);
  }
}
