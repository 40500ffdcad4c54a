/**
 * `npm run bench:append`: how fast the messaging core appends messages, next to how fast the same
 * Postgres takes plain single-row INSERTs at the same concurrency. The ratio is the price of what
 * an append does on top of an INSERT: the member check, the session-row lock that makes `seq`
 * gap-free, and the unique message id.
 *
 * Database: an embedded Postgres in a temp folder (deleted afterwards), or, with DATABASE_URL, a
 * fresh database `tkr_bench_<time>` created on that server and dropped afterwards (the user needs
 * CREATEDB); existing data is never touched.
 *
 * Knobs (environment): BENCH_SECONDS (default 5) measures each case for that long; BENCH_COUNT,
 * when set, measures each case for that many operations instead.
 *
 * Results: a table on stdout and JSON in bench-results/append-<timestamp>.json.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createDatabase, type Database } from "../src/db/client.js";
import { type RunningPostgres, startEmbeddedPostgres } from "../src/db/embedded.js";
import { runMigrations } from "../src/db/migrate.js";
import { createMessaging, type Messaging, type Principal } from "../src/messaging/index.js";

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const COUNT = process.env.BENCH_COUNT ? Number(process.env.BENCH_COUNT) : undefined;
const WARMUP_MS = 1_000;
const CONTENT = "The quick brown fox jumps over the lazy dog. ".repeat(3).slice(0, 128);

interface Case {
  name: string;
  writers: number;
  sessions: number;
}

const CASES: Case[] = [
  { name: "hot session, 1 writer", writers: 1, sessions: 1 },
  { name: "hot session, 8 writers", writers: 8, sessions: 1 },
  { name: "hot session, 32 writers", writers: 32, sessions: 1 },
  { name: "100 sessions, 32 writers", writers: 32, sessions: 100 },
];

interface Measured {
  ops: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface CaseResult extends Case {
  gateway: Measured & {
    /** Rows in the case's sessions afterwards (warm-up included), and whether seq is gap-free. */
    storedRows: number;
    seqGapFree: boolean;
  };
  plainInsert: Measured;
  /** gateway appends/s ÷ plain inserts/s */
  ratio: number;
}

const tty = process.stderr.isTTY === true;

function progress(line: string, final = false) {
  if (tty) process.stderr.write(`\r\x1b[K${line}${final ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] ?? Number.NaN;
}

/**
 * Runs `op` from `writers` concurrent loops until the time (or count) is up, timing each call.
 * `label` feeds the progress line.
 */
async function measure(
  label: string,
  writers: number,
  op: (writer: number, i: number) => Promise<void>,
  limit: { ms: number } | { count: number },
  quiet = false,
): Promise<Measured> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  let firstError: unknown;
  const started = performance.now();
  const deadline = "ms" in limit ? started + limit.ms : Number.POSITIVE_INFINITY;
  const maxOps = "count" in limit ? limit.count : Number.POSITIVE_INFINITY;
  const ticker = quiet
    ? undefined
    : setInterval(() => {
        const elapsed = (performance.now() - started) / 1000;
        const rate = Math.round(latencies.length / elapsed);
        progress(
          `  ${label}: ${elapsed.toFixed(1)} s, ${latencies.length.toLocaleString("en")} ops, ` +
            `${rate.toLocaleString("en")}/s`,
        );
      }, 1_000);

  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      let i = 0;
      while (issued < maxOps && performance.now() < deadline) {
        issued++;
        const t0 = performance.now();
        try {
          await op(writer, i++);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= err;
        }
      }
    }),
  );
  if (ticker) clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;
  if (firstError !== undefined && !quiet) {
    progress(`  ${label}: ${errors} errors, first: ${String(firstError)}`, true);
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops: latencies.length,
    errors,
    seconds: round(seconds, 3),
    perSecond: Math.round(latencies.length / seconds),
    p50Ms: round(percentile(sorted, 0.5), 3),
    p99Ms: round(percentile(sorted, 0.99), 3),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 3),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Where to run: an embedded server in a temp folder, or a fresh database on DATABASE_URL. */
async function openTarget(): Promise<{
  url: string;
  describe: string;
  close(): Promise<void>;
}> {
  const given = process.env.DATABASE_URL;
  if (!given) {
    progress("starting an embedded Postgres in a temp folder…", true);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "tkr-bench-pg-"));
    const embedded: RunningPostgres = await startEmbeddedPostgres({
      dataDir,
      ephemeral: true,
      postgresFlags: ["-c", "max_connections=200"],
    });
    stopOnSignal(() => embedded.stop());
    return { url: embedded.url, describe: "embedded (temp folder)", close: () => embedded.stop() };
  }
  const name = `tkr_bench_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: given });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await admin(`create database ${name}`);
  } catch (err) {
    throw new Error(
      `Could not create a scratch database on DATABASE_URL (${String(err)}). The bench never ` +
        "writes into an existing database: use a user with CREATEDB, or unset DATABASE_URL.",
    );
  }
  const url = new URL(given);
  url.pathname = `/${name}`;
  const drop = () => admin(`drop database if exists ${name} with (force)`);
  stopOnSignal(drop);
  return { url: url.toString(), describe: `DATABASE_URL, scratch database ${name}`, close: drop };
}

function stopOnSignal(cleanup: () => Promise<void>) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up…`, true);
      cleanup().finally(() => process.exit(130));
    });
  }
}

async function serverFacts(pool: pg.Pool): Promise<Record<string, string>> {
  const facts: Record<string, string> = {};
  const version = await pool.query<{ v: string }>("select current_setting('server_version') as v");
  facts.server_version = version.rows[0]?.v ?? "?";
  for (const name of ["fsync", "synchronous_commit", "shared_buffers", "max_connections"]) {
    const r = await pool.query<{ v: string }>("select current_setting($1) as v", [name]);
    facts[name] = r.rows[0]?.v ?? "?";
  }
  return facts;
}

async function checkpoint(pool: pg.Pool) {
  // Starts each measurement from clean buffers; needs superuser, so best effort.
  await pool.query("checkpoint").catch(() => {});
}

async function runCase(
  c: Case,
  index: number,
  database: Database,
  messaging: Messaging,
): Promise<CaseResult> {
  const writers: Principal[] = Array.from({ length: c.writers }, (_, w) => ({
    id: `bench-w${w}`,
    kind: w % 2 === 0 ? "agent" : "user",
  }));
  const owner = writers[0] as Principal;
  const sessionIds: string[] = [];
  for (let s = 0; s < c.sessions; s++) {
    const session = await messaging.createSession(owner, {
      id: `bench-c${index}-s${s}`,
      members: writers.map((w) => w.id),
    });
    sessionIds.push(session.id);
  }
  // Writer w's i-th append goes to session (w + i * writers) mod sessions: with one session all
  // contend for its row lock; with 100 they are spread evenly.
  const sessionFor = (w: number, i: number) =>
    sessionIds[(w + i * c.writers) % sessionIds.length] as string;
  const limit = COUNT === undefined ? { ms: SECONDS * 1000 } : { count: COUNT };

  let phase = "warm";
  const append = async (w: number, i: number) => {
    await messaging.sendMessage(writers[w] as Principal, {
      id: `c${index}-${phase}-w${w}-${i}`,
      sessionId: sessionFor(w, i),
      content: CONTENT,
      type: "text",
    });
  };
  await measure("", c.writers, append, { ms: WARMUP_MS }, true);
  phase = "m";
  await checkpoint(database.pool);
  const measured = await measure(`${c.name} · gateway appends`, c.writers, append, limit);
  progress(`  ${c.name} · gateway appends: ${measured.perSecond.toLocaleString("en")}/s`, true);
  // A figure is only worth having if the appends were real: every session's seq runs 1..n.
  const stored = await database.pool.query<{ n: number; gap_free: boolean }>(
    `select coalesce(sum(n), 0)::int as n, coalesce(bool_and(n = max_seq), true) as gap_free from (
       select session_id, count(*) as n, max(seq) as max_seq from messages
        where session_id = any($1) group by session_id) per_session`,
    [sessionIds],
  );
  const gateway = {
    ...measured,
    storedRows: stored.rows[0]?.n ?? 0,
    seqGapFree: stored.rows[0]?.gap_free ?? false,
  };
  if (!gateway.seqGapFree) progress(`  ${c.name}: seq has gaps or repeats!`, true);

  await database.pool.query("truncate bench_plain_insert");
  const insert = async (w: number, i: number) => {
    await database.pool.query({
      name: "bench_plain_insert",
      text: "insert into bench_plain_insert (session_id, sender_id, content) values ($1, $2, $3)",
      values: [sessionFor(w, i), `bench-w${w}`, CONTENT],
    });
  };
  await measure("", c.writers, insert, { ms: WARMUP_MS }, true);
  await checkpoint(database.pool);
  const plainInsert = await measure(`${c.name} · plain inserts`, c.writers, insert, limit);
  progress(`  ${c.name} · plain inserts: ${plainInsert.perSecond.toLocaleString("en")}/s`, true);

  return { ...c, gateway, plainInsert, ratio: round(gateway.perSecond / plainInsert.perSecond, 3) };
}

function table(results: CaseResult[]): string {
  const header = [
    "case",
    "writers",
    "sessions",
    "appends/s",
    "p50 ms",
    "p99 ms",
    "inserts/s",
    "p50 ms",
    "p99 ms",
    "ratio",
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.writers),
    String(r.sessions),
    r.gateway.perSecond.toLocaleString("en"),
    r.gateway.p50Ms.toFixed(2),
    r.gateway.p99Ms.toFixed(2),
    r.plainInsert.perSecond.toLocaleString("en"),
    r.plainInsert.p50Ms.toFixed(2),
    r.plainInsert.p99Ms.toFixed(2),
    r.ratio.toFixed(2),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  const groups =
    `${" ".repeat((widths[0] ?? 0) + (widths[1] ?? 0) + (widths[2] ?? 0) + 6)}` +
    `${"gateway (messaging core)".padEnd((widths[3] ?? 0) + (widths[4] ?? 0) + (widths[5] ?? 0) + 6)}` +
    "plain INSERT";
  return [groups, line(header), ...rows.map(line)].join("\n");
}

async function main() {
  const startedAt = new Date();
  // Other work on the machine skews every figure; the load average is kept beside them.
  const loadBefore = round(os.loadavg()[0] ?? 0, 2);
  const target = await openTarget();
  const database = createDatabase({ url: target.url, max: 40, applicationName: "tkr-bench" });
  try {
    await runMigrations(database.pool);
    await database.pool.query(
      `create table if not exists bench_plain_insert (
         id bigserial primary key,
         session_id text not null,
         sender_id text not null,
         content text not null,
         created_at timestamptz not null default now())`,
    );
    const messaging = createMessaging({
      db: database.db,
      maxContentBytes: 65_536,
    });
    const facts = await serverFacts(database.pool);
    const how = COUNT === undefined ? `${SECONDS} s per case` : `${COUNT} operations per case`;
    progress(
      `PostgreSQL ${facts.server_version} (${target.describe}), fsync=${facts.fsync}, ` +
        `synchronous_commit=${facts.synchronous_commit}; ${how}, ${CONTENT.length}-byte messages`,
      true,
    );

    const results: CaseResult[] = [];
    for (const [index, c] of CASES.entries()) {
      results.push(await runCase(c, index, database, messaging));
    }

    process.stdout.write(`\n${table(results)}\n\n`);
    process.stdout.write(
      "ratio = gateway appends/s ÷ plain inserts/s at the same concurrency on the same server.\n" +
        `${os.cpus().length} CPUs; 1-minute load average ${loadBefore} before, ` +
        `${round(os.loadavg()[0] ?? 0, 2)} after.\n`,
    );
    const report = {
      benchmark: "append",
      startedAt: startedAt.toISOString(),
      command: "npm run bench:append",
      settings: {
        seconds: COUNT === undefined ? SECONDS : null,
        count: COUNT ?? null,
        contentBytes: CONTENT.length,
      },
      database: { target: target.describe, ...facts },
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "?",
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        loadAverage1m: { before: loadBefore, after: round(os.loadavg()[0] ?? 0, 2) },
      },
      results,
    };
    await mkdir("bench-results", { recursive: true });
    const file = path.join(
      "bench-results",
      `append-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`,
    );
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`results written to ${file}\n`);
  } finally {
    await database.close();
    await target.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:append failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
