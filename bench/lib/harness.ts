/**
 * The orchestrator: starts Postgres (or uses DATABASE_URL), the servers under test in child
 * processes, and the load workers; runs the scenarios against the gateway and the plain
 * Socket.IO server in turn; returns everything measured. `bench/run.ts` prints and saves it.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createDatabase } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";
import { calibrate } from "./calibrate.js";
import { type ChildHandle, spawnChild } from "./child.js";
import { cpuBetween, cpuSnapshot } from "./cpu.js";
import { enableStatementStats } from "./db-writes.js";
import { Histogram, type LatencySummary, round } from "./histogram.js";
import type { Profile, ScenarioName } from "./profiles.js";
import type {
  Breakdown,
  CollectResult,
  ConnectResult,
  RunRequest,
  RunResult,
  ServerStats,
  SocketSpec,
  WorkerStats,
} from "./protocol.js";
import { runScenario } from "./scenarios.js";
import { type BenchDatabases, openDatabases, serverFacts } from "./target.js";

export type TargetKind = "gateway" | "plain";

export interface ServerNode {
  child: ChildHandle;
  url: string;
  pid: number;
}

export interface Target {
  kind: TargetKind;
  /** Node A, and node B while the cross-node scenario runs. */
  nodes: ServerNode[];
  databaseUrl: string;
  secret: string | undefined;
}

export interface BenchOptions {
  profile: Profile;
  scenarios: ScenarioName[];
  /** Load-generator processes. Default: one per core. */
  workers?: number;
  /** Use this server instead of an embedded one (scratch databases are created on it). */
  databaseUrl?: string | undefined;
  /** Extra gateway environment (e.g. DATABASE_POOL_MAX), over the bench's defaults. */
  gatewayEnv?: Record<string, string>;
  /** Postgres settings for the bench databases (`alter database … set`), e.g. for a diagnosis
   * like synchronous_commit=off. Applied before the servers connect. */
  pgSettings?: Record<string, string>;
  /** Connections scenario: heap snapshots before and after, diffed per constructor. */
  heapSummary?: boolean;
  /** Write V8 CPU profiles of the server children, one per measured run, here. */
  cpuProfileDir?: string | undefined;
  /** A line that stays (stderr). */
  log(line: string): void;
  /** A line that is replaced by the next one (stderr). */
  progress(line: string): void;
}

export interface Context {
  options: BenchOptions;
  profile: Profile;
  /** Prefix of every session and principal id of this run. */
  tag: string;
  workers: ChildHandle[];
  targets: Record<TargetKind, Target>;
  /** The gateway database, for creating sessions and counting rows. */
  pool: pg.Pool;
  dbs: BenchDatabases;
  /** Text in front of the progress line. */
  label: string;
  /** pg_stat_statements is readable in the gateway's database (exact write counts). */
  statementStats: boolean;
  startServer(kind: TargetKind, name: string): Promise<ServerNode>;
}

export interface Placed {
  spec: SocketSpec;
  worker: number;
}

const SOCKETS_PER_ADDRESS = 10_000;

/** 127.0.0.1 for the first 10,000 sockets, then 127.0.0.2, …: a fresh port range each. */
export function sourceAddress(index: number): string | undefined {
  const block = Math.floor(index / SOCKETS_PER_ADDRESS);
  return block === 0 ? undefined : `127.0.0.${1 + block}`;
}

/** Sessions and members for the gateway (the plain server has no membership). */
export function membersOf(placed: Placed[]): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const { spec } of placed) {
    if (!spec.sessionId) continue;
    const list = members.get(spec.sessionId) ?? [];
    list.push(spec.sub);
    members.set(spec.sessionId, list);
  }
  return members;
}

export async function connectTarget(ctx: Context, target: Target, group: string, placed: Placed[]) {
  if (target.kind === "gateway") await createSessions(ctx, membersOf(placed));
  const result = await connectGroup(ctx, target, group, placed);
  if (result.failed > 0 || result.joinFailed > 0) {
    ctx.options.log(
      `  ${group}: ${result.failed} sockets failed to connect, ${result.joinFailed} joins failed` +
        (result.firstError ? ` (first: ${result.firstError})` : ""),
    );
  }
  return result;
}

/** Creates sessions and their members in the gateway's database, in bulk. */
export async function createSessions(ctx: Context, members: Map<string, string[]>): Promise<void> {
  const sessionIds = [...members.keys()];
  for (let i = 0; i < sessionIds.length; i += 5_000) {
    await ctx.pool.query(
      "insert into sessions (id, created_by) select unnest($1::text[]), 'bench'",
      [sessionIds.slice(i, i + 5_000)],
    );
  }
  const s: string[] = [];
  const p: string[] = [];
  for (const [sessionId, subs] of members) {
    for (const sub of subs) {
      s.push(sessionId);
      p.push(sub);
    }
  }
  for (let i = 0; i < s.length; i += 10_000) {
    await ctx.pool.query(
      "insert into session_members (session_id, principal_id) select * from unnest($1::text[], $2::text[])",
      [s.slice(i, i + 10_000), p.slice(i, i + 10_000)],
    );
  }
}

/** Opens `placed` sockets against `target` from the workers they are placed on. */
export async function connectGroup(
  ctx: Context,
  target: Target,
  group: string,
  placed: Placed[],
): Promise<ConnectResult> {
  const results = await Promise.all(
    ctx.workers.map((worker, w) =>
      worker.call<ConnectResult>(
        "connect",
        {
          group,
          urls: target.nodes.map((n) => n.url),
          namespace: "/agents",
          ...(target.secret ? { secret: target.secret } : {}),
          sockets: placed.filter((p) => p.worker === w).map((p) => p.spec),
          concurrency: 100,
        },
        600_000,
      ),
    ),
  );
  return {
    connected: results.reduce((a, r) => a + r.connected, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    joinFailed: results.reduce((a, r) => a + r.joinFailed, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    ms: Math.max(...results.map((r) => r.ms)),
  };
}

export async function disconnectGroup(ctx: Context, group: string): Promise<void> {
  await Promise.all(ctx.workers.map((w) => w.call("disconnect", { group })));
}

export function serverStats(node: ServerNode, options: { gc?: boolean; resetLoop?: boolean } = {}) {
  return node.child.call<ServerStats>("stats", options);
}

export async function workerStats(ctx: Context): Promise<WorkerStats[]> {
  return Promise.all(ctx.workers.map((w) => w.call<WorkerStats>("stats")));
}

export interface Measured {
  targetRate: number | null;
  /** How long the target needed before this run to finish the database work of the last one
   * (the plain server's broadcasts wait for their NOTIFYs, which can queue far behind). */
  quietWaitMs: number;
  sentPerSecond: number;
  ackedPerSecond: number;
  deliveriesPerSecond: number;
  sent: number;
  measuredSent: number;
  expectedDeliveries: number;
  received: number;
  /** received ÷ expected, from the measured sends only. */
  deliveredFraction: number;
  unacked: number;
  errors: Record<string, number>;
  ack: LatencySummary;
  delivery: LatencySummary;
  /** NOTIFYs sent by all nodes of the target, per message sent. */
  notifiesPerMessage: number;
  attachmentsPerMessage: number;
  cpu: {
    /** Each server node, in % of one core. */
    servers: number[];
    /** All load workers together, in % of one core. */
    workers: number;
    postgres?: number;
    /** The whole machine's busy share, % of all cores (includes everything else running). */
    machineBusy?: number;
  };
  serverLoopP99Ms: number[];
  /** Server CPU time (all nodes of the target) per message sent, warm-up included: the cost of a
   * message on any machine, unlike the rates, which depend on what else competes for the cores. */
  serverCpuMicrosPerMessage: number;
  /** Database work still queued when the drain ended (plain: broadcasts still waiting). */
  backlogAtEnd: number;
  /** What busy Postgres backends of the target's database were doing (share of 50 ms samples):
   * "on CPU", or a wait such as "IO:WalSync" or "Lock:transactionid". */
  postgresBusy: Record<string, number>;
  /** Gateway nodes: mean server-side time of a `message` (receive to ack) and of its database
   * append, and connections awaited from the pool (mean and max of 10 ms samples). */
  inside?: Array<{
    ackMeanMs: number;
    appendMeanMs: number;
    poolWaitingMean: number;
    poolWaitingMax: number;
  }>;
}

/**
 * Samples what the target's Postgres backends are doing every 50 ms while a run goes: running on
 * CPU, or waiting (for the client to send the next query, for a lock, for the WAL to be flushed).
 * `stop` returns each state's share of the non-idle samples, largest first.
 */
function samplePostgres(pool: pg.Pool, databaseUrl: string) {
  const database = new URL(databaseUrl).pathname.slice(1);
  const counts = new Map<string, number>();
  let total = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await pool.query<{ what: string; n: number }>(
          `select case when state = 'active' and wait_event is null then 'on CPU'
                       when state = 'idle in transaction' then 'idle in transaction'
                       else coalesce(wait_event_type || ':' || wait_event, state) end as what,
                  count(*)::int as n
           from pg_stat_activity
           where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'
             and state <> 'idle' and coalesce(wait_event, '') <> 'ClientRead'
             and query not ilike 'LISTEN%'
           group by 1`,
          [database],
        );
        for (const row of rows) {
          counts.set(row.what, (counts.get(row.what) ?? 0) + row.n);
          total += row.n;
        }
      } catch {
        // Sampling is best effort.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async (): Promise<Record<string, number>> => {
    running = false;
    await loop;
    return Object.fromEntries(
      [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([what, n]) => [what, total ? round(n / total, 3) : 0]),
    );
  };
}

/** Waits (at most 60 s) until no node of `target` has database work queued or running. */
async function waitForQuiet(target: Target): Promise<number> {
  const started = performance.now();
  let quietPolls = 0;
  while (performance.now() - started < 60_000) {
    const stats = await Promise.all(target.nodes.map((n) => serverStats(n)));
    quietPolls = stats.every((s) => s.backlog === 0) ? quietPolls + 1 : 0;
    if (quietPolls >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Math.round(performance.now() - started);
}

/**
 * One measured run: every worker sends (its share of `rate`, or closed-loop), then deliveries
 * drain, then histograms are merged and CPU and NOTIFY counters are read around it.
 */
export async function runMeasured(
  ctx: Context,
  target: Target,
  group: string,
  placed: Placed[],
  run: Omit<RunRequest, "runId" | "group" | "ackTimeoutMs" | "contentBytes" | "rate"> & {
    rate: number;
  },
): Promise<Measured> {
  const runId = `${ctx.tag}${randomBytes(3).toString("hex")}`;
  const quietWaitMs = await waitForQuiet(target);
  const senders = ctx.workers.map(
    (_, w) => placed.filter((p) => p.worker === w && p.spec.send).length,
  );
  const totalSenders = senders.reduce((a, b) => a + b, 0);
  const beforeServers = await Promise.all(
    target.nodes.map((n) => serverStats(n, { resetLoop: true })),
  );
  const beforeWorkers = await workerStats(ctx);
  const profileDir = ctx.options.cpuProfileDir;
  if (profileDir) {
    await mkdir(profileDir, { recursive: true });
    await Promise.all(target.nodes.map((n) => n.child.call("profileStart")));
  }
  const beforeCpu = cpuSnapshot(ctx.dbs.postmasterPid());
  const stopSampling = samplePostgres(ctx.pool, target.databaseUrl);
  const results = await Promise.all(
    ctx.workers.map((worker, w) =>
      worker.call<RunResult>(
        "run",
        {
          ...run,
          runId,
          group,
          rate: totalSenders ? (run.rate * (senders[w] ?? 0)) / totalSenders : 0,
          ackTimeoutMs: ctx.profile.drainMs,
          contentBytes: ctx.profile.contentBytes,
        },
        run.warmupMs + run.measureMs + ctx.profile.drainMs + 60_000,
      ),
    ),
  );
  const expected = results.reduce((a, r) => a + r.expected, 0);
  const drainUntil = performance.now() + ctx.profile.drainMs;
  let received = 0;
  for (;;) {
    const counts = await Promise.all(ctx.workers.map((w) => w.call<number>("received", { runId })));
    received = counts.reduce((a, b) => a + b, 0);
    if (received >= expected || performance.now() > drainUntil) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const collected = await Promise.all(
    ctx.workers.map((w) => w.call<CollectResult>("collect", { runId })),
  );
  const postgresBusy = await stopSampling();
  const afterCpu = cpuSnapshot(ctx.dbs.postmasterPid());
  const afterWorkers = await workerStats(ctx);
  const afterServers = await Promise.all(target.nodes.map((n) => serverStats(n)));
  if (profileDir) {
    const rate = run.mode === "rate" ? `${run.rate}` : "closed";
    await Promise.all(
      target.nodes.map((n, i) =>
        n.child.call("profileStop", {
          file: path.join(profileDir, `${group}-${rate}-${"ab"[i] ?? i}.cpuprofile`),
        }),
      ),
    );
  }
  const seconds = (afterCpu.at - beforeCpu.at) / 1000;

  const ack = new Histogram();
  for (const r of results) ack.merge(r.ack);
  const delivery = new Histogram();
  for (const c of collected) delivery.merge(c.latency);
  received = collected.reduce((a, c) => a + c.received, 0);
  const measureSeconds = run.measureMs / 1000;
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const measuredSent = results.reduce((a, r) => a + r.measuredSent, 0);
  const errors: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  const notifies = afterServers.reduce(
    (a, s, i) => a + s.notifies - (beforeServers[i]?.notifies ?? 0),
    0,
  );
  const attachments = afterServers.reduce(
    (a, s, i) => a + s.attachments - (beforeServers[i]?.attachments ?? 0),
    0,
  );
  const machine = cpuBetween(beforeCpu, afterCpu);
  const workerMicros = afterWorkers.reduce(
    (a, s, i) => a + s.cpuMicros - (beforeWorkers[i]?.cpuMicros ?? 0),
    0,
  );
  return {
    targetRate: run.mode === "rate" ? run.rate : null,
    quietWaitMs,
    sentPerSecond: Math.round(measuredSent / measureSeconds),
    ackedPerSecond: Math.round(ack.count / measureSeconds),
    deliveriesPerSecond: Math.round(received / measureSeconds),
    sent,
    measuredSent,
    expectedDeliveries: expected,
    received,
    deliveredFraction: expected ? round(received / expected, 5) : 1,
    unacked: results.reduce((a, r) => a + r.unacked, 0),
    errors,
    ack: ack.summary(),
    delivery: delivery.summary(),
    notifiesPerMessage: sent ? round(notifies / sent, 3) : 0,
    attachmentsPerMessage: sent ? round(attachments / sent, 3) : 0,
    cpu: {
      servers: afterServers.map((s, i) =>
        Math.round((s.cpuMicros - (beforeServers[i]?.cpuMicros ?? 0)) / 1e4 / seconds),
      ),
      workers: Math.round(workerMicros / 1e4 / seconds),
      ...(machine.postgresPct !== undefined ? { postgres: machine.postgresPct } : {}),
      ...(machine.machineBusyPct !== undefined ? { machineBusy: machine.machineBusyPct } : {}),
    },
    serverLoopP99Ms: afterServers.map((s) => round(s.loopP99Ms, 2)),
    backlogAtEnd: afterServers.reduce((a, s) => a + s.backlog, 0),
    postgresBusy,
    serverCpuMicrosPerMessage: sent
      ? Math.round(
          afterServers.reduce(
            (a, s, i) => a + s.cpuMicros - (beforeServers[i]?.cpuMicros ?? 0),
            0,
          ) / sent,
        )
      : 0,
    ...(afterServers[0]?.breakdown
      ? {
          inside: afterServers.map((s, i) => {
            const a = s.breakdown as Breakdown;
            const b = beforeServers[i]?.breakdown as Breakdown;
            const per = (sum: number, count: number) => (count > 0 ? round(sum / count, 2) : 0);
            return {
              ackMeanMs: per(a.ackSumMs - b.ackSumMs, a.ackCount - b.ackCount),
              appendMeanMs: per(a.appendSumMs - b.appendSumMs, a.appendCount - b.appendCount),
              poolWaitingMean: per(
                a.poolWaitingSum - b.poolWaitingSum,
                a.poolSamples - b.poolSamples,
              ),
              poolWaitingMax: a.poolWaitingMax,
            };
          }),
        }
      : {}),
  };
}

export interface BenchResult {
  startedAt: string;
  profile: Profile;
  scenarios: Partial<Record<ScenarioName, unknown>>;
  database: Record<string, string> & { target: string };
  machine: Record<string, unknown>;
  gatewayEnv: Record<string, string>;
  pgSettings: Record<string, string>;
  load: { before: number[]; after: number[] };
  errors: string[];
  seconds: number;
}

const JWT_SECRET_BYTES = 24;

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadBefore = os.loadavg().map((v) => round(v, 2));
  const secret = randomBytes(JWT_SECRET_BYTES).toString("hex");
  const tag = `b${Date.now().toString(36)}`;
  const countsWrites = options.scenarios.some((s) => s === "streams" || s === "people");
  const dbs = await openDatabases({
    databaseUrl: options.databaseUrl,
    statementStats: countsWrites,
    log: options.log,
  });
  const children: ChildHandle[] = [];
  const database = createDatabase({ url: dbs.gatewayUrl, max: 4, applicationName: "tkr-bench" });
  let ticker: NodeJS.Timeout | undefined;
  const errors: string[] = [];
  try {
    await runMigrations(database.pool);
    const statementStats = countsWrites && (await enableStatementStats(database.pool));
    if (countsWrites && !statementStats) {
      options.log(
        "pg_stat_statements is not loaded: database writes are counted from pg_stat_database only",
      );
    }
    for (const [name, value] of Object.entries(options.pgSettings ?? {})) {
      if (!/^[a-z_.]+$/.test(name)) throw new Error(`bad Postgres setting name ${name}`);
      for (const url of [dbs.gatewayUrl, dbs.plainUrl]) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const db = (await client.query<{ d: string }>("select current_database() as d")).rows[0]?.d;
        const literal = (
          await client.query<{ q: string }>("select quote_literal($1) as q", [value])
        ).rows[0]?.q;
        await client.query(`alter database "${db}" set ${name} = ${literal}`);
        await client.end();
      }
      options.log(`Postgres setting for this run: ${name} = ${value}`);
    }
    const yardstick = await calibrate();
    options.log(
      `machine yardstick: loopback round trip to another process ${yardstick.pacedRoundTripP50Us} µs ` +
        `(p50, paced), ${yardstick.pacedCpuPerRoundTripUs} µs CPU per round trip`,
    );
    const facts = await serverFacts(dbs.gatewayUrl);
    options.log(
      `PostgreSQL ${facts.server_version} (${dbs.describe}), fsync=${facts.fsync}, ` +
        `synchronous_commit=${facts.synchronous_commit}; profile ${options.profile.name}`,
    );

    const startServer = async (kind: TargetKind, name: string): Promise<ServerNode> => {
      const nodeId = `bench-${kind}-${name}`;
      const { child, ready } = await spawnChild({
        name: nodeId,
        module: "server-child.ts",
        args: [kind, kind === "gateway" ? dbs.gatewayUrl : dbs.plainUrl, nodeId],
        env: {
          BENCH_JWT_SECRET: secret,
          BENCH_GATEWAY_ENV: JSON.stringify(options.gatewayEnv ?? {}),
        },
      });
      children.push(child);
      return { child, url: `http://127.0.0.1:${String(ready.port)}`, pid: Number(ready.pid) };
    };
    const workerCount = options.workers ?? Math.max(2, os.cpus().length);
    const [gatewayA, plainA, ...workers] = await Promise.all([
      startServer("gateway", "a"),
      startServer("plain", "a"),
      ...Array.from({ length: workerCount }, (_, w) =>
        spawnChild({ name: `worker-${w}`, module: "load-worker.ts", args: [String(w)] }).then(
          ({ child }) => {
            children.push(child);
            return child;
          },
        ),
      ),
    ]);

    const ctx: Context = {
      options,
      profile: options.profile,
      tag,
      workers: workers as ChildHandle[],
      targets: {
        gateway: {
          kind: "gateway",
          nodes: [gatewayA as ServerNode],
          databaseUrl: dbs.gatewayUrl,
          secret,
        },
        plain: {
          kind: "plain",
          nodes: [plainA as ServerNode],
          databaseUrl: dbs.plainUrl,
          secret: undefined,
        },
      },
      pool: database.pool,
      dbs,
      label: "",
      statementStats,
      startServer,
    };

    // One progress line a second from the workers' own counters.
    const latest = new Map<number, WorkerStats>();
    for (const [w, worker] of ctx.workers.entries()) {
      worker.onEvent((event) => {
        if (event.type === "progress") latest.set(w, event as unknown as WorkerStats);
      });
    }
    let previous = { sent: 0, received: 0, at: performance.now() };
    ticker = setInterval(() => {
      const sum = { connected: 0, sent: 0, received: 0, disconnects: 0, errors: 0 };
      for (const s of latest.values()) {
        sum.connected += s.connected;
        sum.sent += s.sent;
        sum.received += s.received;
        sum.disconnects += s.disconnects;
        sum.errors += s.connectErrors;
      }
      const now = performance.now();
      const dt = (now - previous.at) / 1000;
      const sendRate = Math.round((sum.sent - previous.sent) / dt);
      const recvRate = Math.round((sum.received - previous.received) / dt);
      previous = { sent: sum.sent, received: sum.received, at: now };
      const elapsed = ((now - started) / 1000).toFixed(0);
      options.progress(
        `[${elapsed} s] ${ctx.label} · sockets ${sum.connected.toLocaleString("en")} · ` +
          `sending ${sendRate.toLocaleString("en")}/s · receiving ${recvRate.toLocaleString("en")}/s` +
          (sum.disconnects ? ` · drops ${sum.disconnects}` : "") +
          (sum.errors ? ` · connect errors ${sum.errors}` : ""),
      );
    }, 1_000);
    ticker.unref();

    const scenarios: BenchResult["scenarios"] = {};
    for (const name of options.scenarios) {
      const t0 = performance.now();
      try {
        scenarios[name] = await runScenario(name, ctx);
        options.log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push(`${name}: ${message}`);
        options.log(`${name}: FAILED: ${message}`);
        // Leave no sockets behind for the next scenario.
        await Promise.all(ctx.workers.map((w) => w.call("disconnect", {}).catch(() => {})));
      }
    }

    return {
      startedAt,
      profile: options.profile,
      scenarios,
      database: { target: dbs.describe, ...facts },
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "?",
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        loadWorkers: workerCount,
        yardstick,
      },
      gatewayEnv: options.gatewayEnv ?? {},
      pgSettings: options.pgSettings ?? {},
      load: { before: loadBefore, after: os.loadavg().map((v) => round(v, 2)) },
      errors,
      seconds: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    if (ticker) clearInterval(ticker);
    await Promise.all(children.map((c) => c.stop(15_000).catch(() => {})));
    await database.close().catch(() => {});
    await dbs.close().catch(() => {});
  }
}
