/**
 * Group commit across sessions. Appends that arrive in the same turn of the event loop, or while
 * earlier writes are in flight, go to Postgres together, whatever their session: one statement
 * that locks each session row once (in session-id order, so writers on other nodes cannot
 * deadlock with it), numbers each session's messages with consecutive seqs and inserts every row.
 * One commit (one WAL flush) serves the lot, and at most `MAX_IN_FLIGHT` such writes run at once,
 * so the pool is never swamped however many sessions are busy. The statement is SQL rather than
 * drizzle: it unpacks a JSON array, locks and numbers per session, and inserts in one round trip.
 *
 * Order: a session is in at most one write at a time, and a write's results are settled in input
 * order, so per session seq order = ack order = publish order. When a write completes, the next
 * one is sent before the finished one is settled: fan-out of batch N overlaps the write of N+1.
 *
 * Rows the statement cannot take (sender not a member, unknown session, id already stored) and
 * whole statements that fail on a unique id or on bad data go through the one-message path,
 * which gives each row its exact result or error, so one bad row never fails the others.
 */
import type pg from "pg";
import { GatewayError, type MessageInput } from "../protocol/index.js";
import { isUnavailable, withDb } from "./db-errors.js";
import { type Appended, appendMessage, toStoredMessage } from "./messages.js";
import type { Principal } from "./types.js";

/** Most messages one statement carries. */
export const MAX_BATCH = 512;
/** Most bytes of content one statement carries (at least one message always goes). */
const MAX_BATCH_BYTES = 2_000_000;
/** Writes in flight at once: enough to overlap commits, few enough to leave the pool to reads. */
export const MAX_IN_FLIGHT = 3;

const BATCH_SQL = `
with input as (
  select * from jsonb_to_recordset($1::jsonb) as r(ord int, session_id text, id text,
    sender_id text, sender_kind text, type text, content text, receiver_id text, context_id text,
    reply_to text, metadata jsonb, client_timestamp bigint)
), locked as (
  select s.id, s.last_seq from sessions s
  where s.id in (select distinct session_id from input)
  order by s.id
  for update
), numbered as (
  select i.*, l.last_seq + row_number() over (partition by i.session_id order by i.ord) as seq
  from input i join locked l on l.id = i.session_id
  where exists (select 1 from session_members m
      where m.session_id = i.session_id and m.principal_id = i.sender_id)
    and not exists (select 1 from messages x where x.id = i.id)
), bump as (
  update sessions s set last_seq = c.top
  from (select session_id, max(seq) as top from numbered group by session_id) c
  where s.id = c.session_id
)
insert into messages (session_id, seq, id, sender_id, sender_kind, type, content, receiver_id,
  context_id, reply_to, metadata, client_timestamp)
select session_id, seq, id, sender_id, sender_kind, type, content, receiver_id, context_id,
  reply_to, metadata, client_timestamp
from numbered
returning id, seq, (extract(epoch from created_at) * 1000)::bigint as created_at`;

interface Pending {
  caller: Principal;
  input: MessageInput;
  resolve(value: Appended): void;
  reject(reason: unknown): void;
}

type Outcome = { ok: true; value: Appended } | { ok: false; error: unknown };

export interface AppendBatcher {
  append(caller: Principal, input: MessageInput): Promise<Appended>;
}

export function createAppendBatcher(pool: pg.Pool): AppendBatcher {
  /** Appends not yet in a write, per session, in arrival order. */
  const waiting = new Map<string, Pending[]>();
  /** Sessions with a write in flight. */
  const busy = new Set<string>();
  let inFlight = 0;
  let scheduled = false;

  const single = (p: Pending): Promise<Outcome> =>
    appendMessage(pool, p.caller, p.input).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );

  /** The next write: waiting appends of sessions without a write in flight, oldest first. */
  function take(): Pending[] | undefined {
    const batch: Pending[] = [];
    let bytes = 0;
    for (const [sessionId, queue] of waiting) {
      if (busy.has(sessionId)) continue;
      let n = 0;
      while (n < queue.length && batch.length < MAX_BATCH) {
        const size = (queue[n] as Pending).input.content.length;
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.push(queue[n] as Pending);
        bytes += size;
        n++;
      }
      if (n === 0) break;
      busy.add(sessionId);
      if (n === queue.length) waiting.delete(sessionId);
      else queue.splice(0, n);
      if (batch.length >= MAX_BATCH || bytes >= MAX_BATCH_BYTES) break;
    }
    return batch.length ? batch : undefined;
  }

  function pump(): void {
    while (inFlight < MAX_IN_FLIGHT) {
      const batch = take();
      if (!batch) return;
      inFlight++;
      void run(batch);
    }
  }

  async function run(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await write(batch);
    } catch (err) {
      outcomes = batch.map(() => ({ ok: false, error: err }));
    }
    inFlight--;
    const sessions = new Set(batch.map((p) => p.input.sessionId));
    for (const id of sessions) busy.delete(id);
    const unavailable = outcomes.find(
      (o) => !o.ok && o.error instanceof GatewayError && o.error.code === "UNAVAILABLE",
    );
    if (unavailable && !unavailable.ok) {
      // The database did not answer for these sessions: the appends queued behind this write
      // would each wait for their own timeout. Fail them now; the client retries with the same id.
      for (const id of sessions) {
        const queue = waiting.get(id);
        if (!queue) continue;
        waiting.delete(id);
        for (const p of queue) p.reject(unavailable.error);
      }
    }
    // Send the next write before settling this one, so that this batch's fan-out runs while
    // Postgres works on the next. pg-pool hands an idle connection over in a nextTick, which
    // would only run after the microtasks that settling starts (the whole fan-out): settling in a
    // nextTick queued after it lets the query go onto the wire first.
    pump();
    process.nextTick(() => {
      batch.forEach((p, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) p.resolve(outcome.value);
        else p.reject(outcome.error);
      });
    });
  }

  async function write(batch: Pending[]): Promise<Outcome[]> {
    if (batch.length === 1) return [await single(batch[0] as Pending)];
    // Retries of one id often arrive together: write each id once, answer the copies after.
    const firsts = new Map<string, Pending>();
    for (const p of batch) if (!firsts.has(p.input.id)) firsts.set(p.input.id, p);
    let rows: Array<{ id: string; seq: number; created_at: number }>;
    try {
      const payload = [...firsts.values()].map(({ caller, input }, ord) => ({
        ord,
        session_id: input.sessionId,
        id: input.id,
        sender_id: caller.id,
        sender_kind: caller.kind,
        type: input.type,
        content: input.content,
        receiver_id: input.receiverId ?? null,
        context_id: input.contextId ?? null,
        reply_to: input.replyTo ?? null,
        metadata: input.metadata ?? null,
        client_timestamp: input.timestamp ?? null,
      }));
      const result = await withDb(() =>
        pool.query<{ id: string; seq: number; created_at: number }>({
          name: "tkr_append_batch",
          text: BATCH_SQL,
          values: [JSON.stringify(payload)],
        }),
      );
      rows = result.rows;
    } catch (err) {
      // A concurrent writer stored one of these ids (23505), a row holds data Postgres refuses
      // (class 22), a deadlock with another node's batch (40P01), or anything else the statement
      // hit: settle each row on its own, so one row or one collision never fails the others. Only
      // a database that cannot be reached fails the batch as a whole (UNAVAILABLE).
      if (isUnavailable(err)) throw err;
      return settleEach(batch);
    }
    const stored = new Map(rows.map((row) => [row.id, row]));
    const outcomes: Outcome[] = [];
    for (const p of batch) {
      const row = stored.get(p.input.id);
      const first = firsts.get(p.input.id);
      if (row && first === p) {
        outcomes.push({
          ok: true,
          value: {
            result: { id: p.input.id, seq: row.seq, createdAt: row.created_at, duplicate: false },
            message: toStoredMessage(p.input, p.caller, row.seq, row.created_at),
          },
        });
      } else if (
        row &&
        first?.caller.id === p.caller.id &&
        first.input.sessionId === p.input.sessionId
      ) {
        outcomes.push({
          ok: true,
          value: {
            result: { id: p.input.id, seq: row.seq, createdAt: row.created_at, duplicate: true },
            message: undefined,
          },
        });
      } else {
        // Not a member, unknown session, the id stored earlier or by another sender: the single
        // path answers exactly (FORBIDDEN, NOT_FOUND, the original seq, or CONFLICT).
        outcomes.push(await single(p));
      }
    }
    return outcomes;
  }

  async function settleEach(batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const p of batch) outcomes.push(await single(p));
    return outcomes;
  }

  return {
    append(caller, input) {
      return new Promise<Appended>((resolve, reject) => {
        const queue = waiting.get(input.sessionId);
        const pending = { caller, input, resolve, reject };
        if (queue) queue.push(pending);
        else waiting.set(input.sessionId, [pending]);
        // Gather this turn's appends from every session, then write them together.
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            pump();
          });
        }
      });
    },
  };
}
