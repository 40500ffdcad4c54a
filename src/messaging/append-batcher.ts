/**
 * Group commit per session. Appends to one session queue up while that session's previous write
 * is in flight and then go to Postgres together: one statement that locks the session row once,
 * numbers the batch with consecutive seqs and inserts every row, so one commit (one fsync, one
 * lock hold) serves many messages. An idle session's append goes out at once: batching adds no
 * delay, it only soaks up the queue that the row lock would otherwise build.
 *
 * Rows the batch cannot take (sender not a member, id already stored) and whole batches that
 * fail on a unique id (a concurrent writer elsewhere) go through the one-message path, which
 * gives each its exact result or error.
 */
import type pg from "pg";
import type { MessageInput } from "../protocol/index.js";
import { constraintName, sqlState, withDb } from "./db-errors.js";
import { type Appended, appendMessage, toStoredMessage } from "./messages.js";
import type { Principal } from "./types.js";

/** Most messages one statement carries. */
export const MAX_BATCH = 256;

const BATCH_SQL = `
with input as (
  select * from jsonb_to_recordset($2::jsonb) as r(ord int, id text, sender_id text,
    sender_kind text, type text, content text, receiver_id text, context_id text, reply_to text,
    metadata jsonb, client_timestamp bigint)
), valid as (
  select i.* from input i
  where exists (select 1 from session_members m where m.session_id = $1 and m.principal_id = i.sender_id)
    and not exists (select 1 from messages x where x.id = i.id)
), total as (
  select count(*)::bigint as n from valid
), bump as (
  update sessions set last_seq = last_seq + (select n from total)
  where id = $1 and (select n from total) > 0
  returning last_seq
), numbered as (
  select v.*, (select last_seq from bump) - (select n from total) + row_number() over (order by v.ord) as seq
  from valid v
)
insert into messages (session_id, seq, id, sender_id, sender_kind, type, content, receiver_id,
  context_id, reply_to, metadata, client_timestamp)
select $1, seq, id, sender_id, sender_kind, type, content, receiver_id, context_id, reply_to,
  metadata, client_timestamp
from numbered
where seq is not null
returning id, seq, (extract(epoch from created_at) * 1000)::bigint as created_at`;

interface Pending {
  caller: Principal;
  input: MessageInput;
  resolve(value: Appended): void;
  reject(reason: unknown): void;
}

export interface AppendBatcher {
  append(caller: Principal, input: MessageInput): Promise<Appended>;
}

export function createAppendBatcher(pool: pg.Pool): AppendBatcher {
  const queues = new Map<string, Pending[]>();

  async function drain(sessionId: string): Promise<void> {
    for (;;) {
      const queue = queues.get(sessionId);
      if (!queue || queue.length === 0) {
        queues.delete(sessionId);
        return;
      }
      const batch = queue.splice(0, MAX_BATCH);
      await writeBatch(sessionId, batch);
    }
  }

  async function writeBatch(sessionId: string, batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      await appendMessage(pool, only.caller, only.input).then(only.resolve, only.reject);
      return;
    }
    // Retries of one id often arrive together: write each id once, answer the copies after.
    const firsts = new Map<string, Pending>();
    const copies: Pending[] = [];
    for (const p of batch) {
      if (firsts.has(p.input.id)) copies.push(p);
      else firsts.set(p.input.id, p);
    }
    let rows: Array<{ id: string; seq: number; created_at: number }>;
    try {
      const payload = [...firsts.values()].map(({ caller, input }, ord) => ({
        ord,
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
          values: [sessionId, JSON.stringify(payload)],
        }),
      );
      rows = result.rows;
    } catch (err) {
      if (sqlState(err) === "23505" && constraintName(err) === "messages_id_idx") {
        // Someone else stored one of these ids meanwhile: settle each on its own.
        for (const p of batch)
          await appendMessage(pool, p.caller, p.input).then(p.resolve, p.reject);
        return;
      }
      for (const p of batch) p.reject(err);
      return;
    }
    const stored = new Map(rows.map((row) => [row.id, row]));
    for (const p of firsts.values()) {
      const row = stored.get(p.input.id);
      if (row) {
        p.resolve({
          result: { id: p.input.id, seq: row.seq, createdAt: row.created_at, duplicate: false },
          message: toStoredMessage(p.input, p.caller.id, p.caller.kind, row.seq, row.created_at),
        });
      } else {
        // Not a member, unknown session, or the id was stored earlier: the single path answers
        // exactly (FORBIDDEN, NOT_FOUND, the original seq, or CONFLICT).
        await appendMessage(pool, p.caller, p.input).then(p.resolve, p.reject);
      }
    }
    for (const p of copies) {
      const row = stored.get(p.input.id);
      const first = firsts.get(p.input.id);
      if (row && first?.caller.id === p.caller.id) {
        p.resolve({
          result: { id: p.input.id, seq: row.seq, createdAt: row.created_at, duplicate: true },
          message: undefined,
        });
      } else {
        await appendMessage(pool, p.caller, p.input).then(p.resolve, p.reject);
      }
    }
  }

  return {
    append(caller, input) {
      return new Promise<Appended>((resolve, reject) => {
        const queue = queues.get(input.sessionId);
        if (queue) {
          queue.push({ caller, input, resolve, reject });
          return;
        }
        queues.set(input.sessionId, [{ caller, input, resolve, reject }]);
        void drain(input.sessionId);
      });
    },
  };
}
