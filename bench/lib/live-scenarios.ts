/**
 * The streams (issue 11) and people (issue 12) scenarios, each against the gateway and then the
 * plain Socket.IO server relaying the same events (bench/lib/plain-live.ts), with the database
 * writes each causes counted, and, for people, a gateway node SIGKILLed to see its principals go
 * offline on the survivor.
 */
import { randomBytes } from "node:crypto";
import { type WritesBetween, writeSnapshot, writesBetween } from "./db-writes.js";
import {
  type Context,
  connectGroup,
  connectTarget,
  createSessions,
  disconnectGroup,
  membersOf,
  type Placed,
  type ServerNode,
  serverStats,
  type Target,
  type TargetKind,
} from "./harness.js";
import { Histogram, type LatencySummary, nowMs, round } from "./histogram.js";
import type { LiveCollected, PeopleRunResult, StreamsRunResult } from "./live-worker.js";
import type { ConnectResult } from "./protocol.js";

const KINDS: TargetKind[] = ["gateway", "plain"];

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `members` sockets per session; `worker` places each. The first of each session sends (streams)
 * or all do (people). */
function sessionsOf(
  ctx: Context,
  name: string,
  sessions: number,
  members: number,
  worker: (s: number, k: number) => number,
  everyoneSends: boolean,
): Placed[] {
  const placed: Placed[] = [];
  for (let s = 0; s < sessions; s++) {
    const sessionId = `${ctx.tag}-${name}-${s}`;
    for (let k = 0; k < members; k++) {
      const send = everyoneSends || k === 0;
      placed.push({
        worker: worker(s, k),
        spec: {
          sub: `${sessionId}-${k}`,
          node: 0,
          sessionId,
          send,
          receivers: send ? members - 1 : 0,
        },
      });
    }
  }
  return placed;
}

/** Waits for the workers' measured receptions to reach `expected`, or `drainMs`. */
async function drain(ctx: Context, runId: string, expected: number): Promise<LiveCollected[]> {
  const until = performance.now() + ctx.profile.drainMs;
  for (;;) {
    const counts = await Promise.all(
      ctx.workers.map((w) => w.call<number>("liveReceived", { runId })),
    );
    if (counts.reduce((a, b) => a + b, 0) >= expected || performance.now() > until) break;
    await sleep(100);
  }
  return Promise.all(ctx.workers.map((w) => w.call<LiveCollected>("liveCollect", { runId })));
}

function merged(datas: Array<Parameters<Histogram["merge"]>[0]>): LatencySummary {
  const h = new Histogram();
  for (const d of datas) h.merge(d);
  return h.summary();
}

function sumErrors(results: Array<{ errors: Record<string, number> }>) {
  const errors: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  return errors;
}

/** CPU time and write statements (by the tables they change) of all the target's nodes. */
async function serverCounters(target: Target) {
  const stats = await Promise.all(target.nodes.map((n) => serverStats(n)));
  const writes: Record<string, number> = {};
  for (const s of stats)
    for (const [what, n] of Object.entries(s.writes ?? {})) writes[what] = (writes[what] ?? 0) + n;
  return { cpuMicros: stats.reduce((a, s) => a + s.cpuMicros, 0), writes };
}

/** Write statements the servers sent between two readings, by the tables they change. */
function writesSent(before: Record<string, number>, after: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [what, n] of Object.entries(after)) {
    const d = n - (before[what] ?? 0);
    if (d > 0) out[what] = d;
  }
  return out;
}

/** Stream ends (inserts into `messages`), connection audit rows (sockets connected just before)
 * and every other write statement: what the deltas could have caused. */
function classifyWrites(sent: Record<string, number>) {
  let endWrites = 0;
  let auditWrites = 0;
  let otherWrites = 0;
  for (const [what, n] of Object.entries(sent)) {
    if (/\binsert messages\b/i.test(what)) endWrites += n;
    else if (/connection_audit/i.test(what)) auditWrites += n;
    else otherWrites += n;
  }
  return { endWrites, auditWrites, otherWrites };
}

export interface StreamsSide {
  connect: ConnectResult;
  deltasSent: number;
  measuredDeltas: number;
  /** Measured deltas sent per second (the target is sessions × deltasPerSecond). */
  deltasPerSecond: number;
  expected: number;
  received: number;
  deliveredFraction: number;
  delivery: LatencySummary;
  startAck: LatencySummary;
  endAck: LatencySummary;
  streamsStarted: number;
  streamsEnded: number;
  /** Final `message` events received, and what the ended streams should have caused. */
  finalsReceived: number;
  finalsExpected: number;
  aborts: number;
  outOfOrder: number;
  errors: Record<string, number>;
  writes: WritesBetween;
  /** Write statements the servers sent (counted in the server process), by the tables they change. */
  writesSent: Record<string, number>;
  /** Of those: on `messages` (the stream ends' appends), on the connection audit (sockets
   * connected just before), and all others: what deltas could have caused. */
  endWrites: number;
  auditWrites: number;
  otherWrites: number;
  /** Gateway: rows in `messages` for this run's stream ids, and distinct ids among them. */
  storedRows?: number;
  storedDistinct?: number;
  serverCpuMicrosPerDelta: number;
}

async function measureStreams(
  ctx: Context,
  target: Target,
  group: string,
  members: number,
): Promise<Omit<StreamsSide, "connect">> {
  const p = ctx.profile.streams;
  const runId = `${ctx.tag}${randomBytes(3).toString("hex")}`;
  ctx.label = `streams · ${target.kind} · ${p.sessions} streams × ${p.deltasPerSecond} deltas/s`;
  const before = await writeSnapshot(ctx.pool, target.databaseUrl, ctx.statementStats);
  const countersBefore = await serverCounters(target);
  const results = await Promise.all(
    ctx.workers.map((w) =>
      w.call<StreamsRunResult>(
        "streamsRun",
        {
          runId,
          group,
          warmupMs: p.warmupMs,
          measureMs: p.measureMs,
          deltasPerSecond: p.deltasPerSecond,
          deltasPerStream: p.deltasPerStream,
          ackTimeoutMs: ctx.profile.drainMs,
        },
        p.warmupMs + p.measureMs + ctx.profile.drainMs + 60_000,
      ),
    ),
  );
  const expected = results.reduce((a, r) => a + r.expected, 0);
  const collected = await drain(ctx, runId, expected);
  const countersAfter = await serverCounters(target);
  const after = await writeSnapshot(ctx.pool, target.databaseUrl, ctx.statementStats);
  const writes = writesBetween(before, after);
  const sent = writesSent(countersBefore.writes, countersAfter.writes);
  const ended = results.reduce((a, r) => a + r.streamsEnded, 0);
  const received = collected.reduce((a, c) => a + c.received, 0);
  const deltasSent = results.reduce((a, r) => a + r.deltasSent, 0);
  const measuredDeltas = results.reduce((a, r) => a + r.measuredDeltas, 0);
  const side: Omit<StreamsSide, "connect"> = {
    deltasSent,
    measuredDeltas,
    deltasPerSecond: Math.round(measuredDeltas / (p.measureMs / 1000)),
    expected,
    received,
    deliveredFraction: expected ? round(received / expected, 5) : 1,
    delivery: merged(collected.map((c) => c.latency)),
    startAck: merged(results.map((r) => r.startAck)),
    endAck: merged(results.map((r) => r.endAck)),
    streamsStarted: results.reduce((a, r) => a + r.streamsStarted, 0),
    streamsEnded: ended,
    finalsReceived: collected.reduce((a, c) => a + c.finals, 0),
    finalsExpected: ended * (members - 1),
    aborts: collected.reduce((a, c) => a + c.aborts, 0),
    outOfOrder: collected.reduce((a, c) => a + c.outOfOrder, 0),
    errors: sumErrors(results),
    writes,
    writesSent: sent,
    ...classifyWrites(sent),
    serverCpuMicrosPerDelta: deltasSent
      ? Math.round((countersAfter.cpuMicros - countersBefore.cpuMicros) / deltasSent)
      : 0,
  };
  if (target.kind === "gateway") {
    const stored = await ctx.pool.query<{ n: number; d: number }>(
      "select count(*)::int as n, count(distinct id)::int as d from messages where id like $1",
      [`${runId}-%`],
    );
    side.storedRows = stored.rows[0]?.n ?? 0;
    side.storedDistinct = stored.rows[0]?.d ?? 0;
  }
  return side;
}

export async function streams(ctx: Context) {
  const p = ctx.profile.streams;
  const out: Partial<Record<TargetKind, StreamsSide>> = {};
  const w = ctx.workers.length;
  for (const kind of KINDS) {
    const target = ctx.targets[kind];
    const group = `${kind}-streams`;
    const placed = sessionsOf(
      ctx,
      `s${kind[0]}`,
      p.sessions,
      p.members,
      (s, k) => (s + k) % w,
      false,
    );
    ctx.label = `streams · ${kind} · connecting ${placed.length.toLocaleString("en")}`;
    const connect = await connectTarget(ctx, target, group, placed);
    try {
      out[kind] = { connect, ...(await measureStreams(ctx, target, group, p.members)) };
    } finally {
      await disconnectGroup(ctx, group);
    }
  }
  return out;
}

export interface PeopleSide {
  connect: ConnectResult;
  typingSent: number;
  measuredTyping: number;
  expected: number;
  received: number;
  deliveredFraction: number;
  typing: LatencySummary;
  receiptsSent: number;
  receiptsAcked: number;
  receiptAck: LatencySummary;
  receiptEvents: number;
  unmatchedTyping: number;
  errors: Record<string, number>;
  writes: WritesBetween;
  /** Statements and rows that wrote `session_members` (the receipt watermarks), per member per
   * second of sending. Null without pg_stat_statements. */
  /** Write statements on `session_members` the servers sent, per member per second (a flush
   * writes many members in one statement). */
  receiptStatementsPerMemberSecond: number;
  /** Write statements the servers sent, by the tables they change. */
  writesSent: Record<string, number>;
  receiptRowsPerMemberSecond: number | null;
  serverCpuMicrosPerEvent: number;
}

export interface PresenceKill {
  victims: number;
  /** Observers whose join ack (on node A) listed their victim (on node B) as online, and how
   * long after connecting that was true for all of them (polled every 200 ms, at most 10 s). */
  onlineBefore: number;
  onlineSeconds: number;
  offlineSeen: number;
  offlineWithinTarget: number;
  offlineP50Seconds: number | null;
  offlineMaxSeconds: number | null;
  /** Observers whose join ack after the kill lists themselves and not their victim. */
  correctAfter: number;
  waitedSeconds: number;
}

async function measurePeople(
  ctx: Context,
  target: Target,
  group: string,
  memberCount: number,
  receiptMaxSeq: number,
): Promise<Omit<PeopleSide, "connect">> {
  const p = ctx.profile.people;
  const runId = `${ctx.tag}${randomBytes(3).toString("hex")}`;
  ctx.label = `people · ${target.kind} · typing and receipts from ${memberCount.toLocaleString("en")}`;
  const before = await writeSnapshot(ctx.pool, target.databaseUrl, ctx.statementStats);
  const countersBefore = await serverCounters(target);
  const results = await Promise.all(
    ctx.workers.map((w) =>
      w.call<PeopleRunResult>(
        "peopleRun",
        {
          runId,
          group,
          warmupMs: p.warmupMs,
          measureMs: p.measureMs,
          typingIntervalMs: p.typingIntervalMs,
          receiptIntervalMs: p.receiptIntervalMs,
          receiptMaxSeq,
          ackTimeoutMs: ctx.profile.drainMs,
        },
        p.warmupMs + p.measureMs + ctx.profile.drainMs + 60_000,
      ),
    ),
  );
  const expected = results.reduce((a, r) => a + r.expected, 0);
  const collected = await drain(ctx, runId, expected);
  // Receipts are flushed at most once a second: give the last flush time to land.
  await sleep(1_500);
  const countersAfter = await serverCounters(target);
  const sent = writesSent(countersBefore.writes, countersAfter.writes);
  const receiptStatements = Object.entries(sent)
    .filter(([what]) => /session_members/i.test(what))
    .reduce((a, [, n]) => a + n, 0);
  const after = await writeSnapshot(ctx.pool, target.databaseUrl, ctx.statementStats);
  const writes = writesBetween(before, after);
  const received = collected.reduce((a, c) => a + c.received, 0);
  const typingSent = results.reduce((a, r) => a + r.typingSent, 0);
  const receiptsSent = results.reduce((a, r) => a + r.receiptsSent, 0);
  const memberSeconds = (memberCount * (p.warmupMs + p.measureMs)) / 1000;
  const receiptWrites = writes.all?.filter((s) => /session_members/i.test(s.query));
  return {
    typingSent,
    measuredTyping: results.reduce((a, r) => a + r.measuredTyping, 0),
    expected,
    received,
    deliveredFraction: expected ? round(received / expected, 5) : 1,
    typing: merged(collected.map((c) => c.latency)),
    receiptsSent,
    receiptsAcked: results.reduce((a, r) => a + r.receiptsAcked, 0),
    receiptAck: merged(results.map((r) => r.receiptAck)),
    receiptEvents: collected.reduce((a, c) => a + c.receipts, 0),
    unmatchedTyping: collected.reduce((a, c) => a + c.unmatched, 0),
    errors: sumErrors(results),
    writes,
    receiptStatementsPerMemberSecond: round(receiptStatements / memberSeconds, 4),
    writesSent: sent,
    receiptRowsPerMemberSecond: receiptWrites
      ? round(receiptWrites.reduce((a, s) => a + s.rows, 0) / memberSeconds, 4)
      : null,
    serverCpuMicrosPerEvent:
      typingSent + receiptsSent
        ? Math.round(
            (countersAfter.cpuMicros - countersBefore.cpuMicros) / (typingSent + receiptsSent),
          )
        : 0,
  };
}

/** Gives each gateway session `count` stored messages, so read receipts have seqs to climb. */
async function seedMessages(ctx: Context, sessionIds: string[], count: number) {
  await ctx.pool.query(
    `insert into messages (session_id, seq, id, sender_id, sender_kind, type, content)
     select s, g, s || '-m' || g, s || '-0', 'agent', 'text', 'seed'
     from unnest($1::text[]) as s, generate_series(1, $2::int) as g`,
    [sessionIds, count],
  );
  await ctx.pool.query("update sessions set last_seq = $2 where id = any($1::text[])", [
    sessionIds,
    count,
  ]);
}

/** Two gateway nodes: observers on A, one victim per session on B; B is SIGKILLed. */
async function presenceAfterKill(ctx: Context): Promise<PresenceKill> {
  const p = ctx.profile.people;
  const w = ctx.workers.length;
  const nodeA = ctx.targets.gateway.nodes[0] as ServerNode;
  ctx.label = "people · presence · starting gateway node B";
  const nodeB = await ctx.startServer("gateway", "b-presence");
  const group = "gateway-presence";
  try {
    const deadline = performance.now() + 30_000;
    while (!(await serverStats(nodeB)).listening || !(await serverStats(nodeA)).listening) {
      if (performance.now() > deadline) throw new Error("node B's cluster listener is not up");
      await sleep(50);
    }
    const target: Target = { ...ctx.targets.gateway, nodes: [nodeA, nodeB] };
    const placed: Placed[] = [];
    for (let s = 0; s < p.presenceSessions; s++) {
      const sessionId = `${ctx.tag}-k-${s}`;
      const base = { sessionId, send: false, receivers: 0 };
      placed.push({ worker: s % w, spec: { ...base, sub: `${sessionId}-o`, node: 0 } });
      placed.push({ worker: (s + 1) % w, spec: { ...base, sub: `${sessionId}-v`, node: 1 } });
    }
    ctx.label = `people · presence · connecting ${placed.length} across two nodes`;
    await connectTarget(ctx, target, group, placed);
    const watchId = `${ctx.tag}-watch`;
    await Promise.all(ctx.workers.map((wk) => wk.call("presenceWatch", { watchId, group })));
    type Joined = { sub: string; sessionId: string; status: string; online: string[] };
    const joins = async () =>
      (await Promise.all(ctx.workers.map((wk) => wk.call<Joined[]>("presenceOfJoin", { group }))))
        .flat()
        .filter((j) => j.sub.endsWith("-o"));
    const victimOf = (j: Joined) => `${j.sessionId}-v`;
    // A change reaches the other node within a second or so: wait (at most 10 s) until every
    // observer's join ack lists its victim, so "offline" below means the kill.
    const onlineFrom = nowMs();
    let onlineBefore = 0;
    for (;;) {
      onlineBefore = (await joins()).filter((j) => j.online.includes(victimOf(j))).length;
      if (onlineBefore === p.presenceSessions || nowMs() - onlineFrom > 10_000) break;
      await sleep(200);
    }
    const onlineSeconds = round((nowMs() - onlineFrom) / 1000, 2);

    ctx.label = "people · presence · node B SIGKILLed, waiting for offline";
    const killedAt = nowMs();
    nodeB.child.process.kill("SIGKILL");
    const victims = placed.filter((x) => x.spec.sub.endsWith("-v")).map((x) => x.spec.sub);
    let offline: Record<string, number> = {};
    const waitUntil = performance.now() + p.presenceWaitMs;
    for (;;) {
      const seen = await Promise.all(
        ctx.workers.map((wk) =>
          wk.call<{ offline: Record<string, number> }>("presenceSeen", { watchId }),
        ),
      );
      offline = {};
      for (const s of seen)
        for (const [who, at] of Object.entries(s.offline))
          offline[who] = Math.min(offline[who] ?? Number.POSITIVE_INFINITY, at);
      if (victims.every((v) => v in offline) || performance.now() > waitUntil) break;
      await sleep(250);
    }
    const waitedSeconds = round((nowMs() - killedAt) / 1000, 1);
    await Promise.all(ctx.workers.map((wk) => wk.call("presenceSeen", { watchId, stop: true })));
    const seconds = victims
      .filter((v) => v in offline)
      .map((v) => ((offline[v] as number) - killedAt) / 1000)
      .sort((a, b) => a - b);
    const after = await joins();
    return {
      victims: victims.length,
      onlineBefore,
      onlineSeconds,
      offlineSeen: seconds.length,
      offlineWithinTarget: seconds.filter((s) => s <= 30).length,
      offlineP50Seconds: seconds.length
        ? round(seconds[Math.floor((seconds.length - 1) / 2)] as number, 2)
        : null,
      offlineMaxSeconds: seconds.length ? round(seconds[seconds.length - 1] as number, 2) : null,
      correctAfter: after.filter(
        (j) =>
          j.status === "success" && j.online.includes(j.sub) && !j.online.includes(victimOf(j)),
      ).length,
      waitedSeconds,
    };
  } finally {
    await disconnectGroup(ctx, group);
    await nodeB.child.stop(2_000).catch(() => {});
  }
}

export async function people(ctx: Context) {
  const p = ctx.profile.people;
  const out: Partial<Record<TargetKind, PeopleSide>> & { presence?: PresenceKill } = {};
  const w = ctx.workers.length;
  // A receipt every interval from the first send to the last, each one seq higher.
  const receiptMaxSeq = Math.ceil((p.warmupMs + p.measureMs) / p.receiptIntervalMs) + 2;
  for (const kind of KINDS) {
    const target = ctx.targets[kind];
    const group = `${kind}-people`;
    // A session's sockets share a worker: typing latency is looked up there (live-worker.ts).
    const placed = sessionsOf(ctx, `p${kind[0]}`, p.sessions, p.members, (s) => s % w, true);
    ctx.label = `people · ${kind} · connecting ${placed.length.toLocaleString("en")}`;
    if (kind === "gateway") {
      await createSessions(ctx, membersOf(placed));
      await seedMessages(ctx, [...membersOf(placed).keys()], receiptMaxSeq);
    }
    const connect = await connectGroup(ctx, target, group, placed);
    if (connect.failed > 0 || connect.joinFailed > 0) {
      ctx.options.log(
        `  ${group}: ${connect.failed} sockets failed to connect, ${connect.joinFailed} joins failed` +
          (connect.firstError ? ` (first: ${connect.firstError})` : ""),
      );
    }
    try {
      out[kind] = {
        connect,
        ...(await measurePeople(ctx, target, group, placed.length, receiptMaxSeq)),
      };
    } finally {
      await disconnectGroup(ctx, group);
    }
  }
  out.presence = await presenceAfterKill(ctx);
  return out;
}
