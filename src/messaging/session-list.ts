/**
 * The sessions of one principal, most recent activity first (PROTOCOL.md section 8,
 * `GET /v1/sessions`), paged by an opaque keyset cursor.
 */
import type pg from "pg";
import { GatewayError, type SessionList, type SessionSummary } from "../protocol/index.js";
import { visibleMessageSql } from "./audience.js";
import { withDb } from "./db-errors.js";
import type { Principal } from "./types.js";

/**
 * One statement: the caller's memberships by `session_members_principal_idx`, each session by
 * its key and its newest message that the caller may see by the messages key read backwards from
 * the head (usually the head itself; a direct message between others is skipped, so the list
 * does not tell when they wrote), so activity needs no column written on the append path. Activity is in microseconds (the precision of
 * `sessions.created_at`), and the keyset `(activity, id)` is both the order and the cursor, so
 * a page never repeats or skips a session whose activity did not change. Member lists are read
 * only for the page's rows, and so is `unread`: the caller's read watermark (the stored one, or
 * this node's newer unflushed one, `$5`/`$6`) against the messages after it by the primary key,
 * counting at most `UNREAD_CAP` so that a session nobody reads costs a bounded scan.
 */
/** `unread` counts at most this many (PROTOCOL.md `GET /v1/sessions`). */
export const UNREAD_CAP = 1_000;

const LIST_SQL = `
with mine as (
  select s.id, s.title, s.last_seq, last.created_at as last_message_at,
    greatest(sm.read_seq, coalesce(o.read, 0)) as read_seq,
    (extract(epoch from coalesce(last.created_at, s.created_at)) * 1000000)::bigint as activity
  from session_members sm
  join sessions s on s.id = sm.session_id
  left join lateral (
    select m.created_at from messages m
    where m.session_id = s.id and ${visibleMessageSql("$1", "m.")}
    order by m.seq desc limit 1
  ) last on true
  left join unnest($5::text[], $6::bigint[]) as o(session_id, read) on o.session_id = s.id
  where sm.principal_id = $1
), page as (
  select * from mine
  where $2::bigint is null or (activity, id) < ($2::bigint, $3::text)
  order by activity desc, id desc
  limit $4
)
select id, title, last_seq, activity,
  (extract(epoch from last_message_at) * 1000)::bigint as last_message_at,
  array(select m.principal_id from session_members m where m.session_id = page.id
    order by m.added_at, m.principal_id) as members,
  read_seq,
  (select count(*) from (
    select 1 from messages u
    where u.session_id = page.id and u.seq > page.read_seq and u.sender_id <> $1
      and ${visibleMessageSql("$1", "u.")}
    limit ${UNREAD_CAP}) capped)::int as unread
from page
order by activity desc, id desc`;

interface Position {
  activity: number;
  id: string;
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.activity, position.id])).toString("base64url");
}

function decodeCursor(cursor: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    Number.isSafeInteger(parsed[0]) &&
    typeof parsed[1] === "string"
  ) {
    return { activity: parsed[0] as number, id: parsed[1] };
  }
  throw new GatewayError("INVALID_PAYLOAD", "cursor is not one this server gave");
}

export async function listSessions(
  pool: pg.Pool,
  caller: Principal,
  limit: number,
  cursor?: string,
  /** This node's unflushed read watermarks of the caller, by session. */
  unflushedReads: ReadonlyMap<string, number> = new Map(),
): Promise<SessionList> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const result = await withDb(() =>
    pool.query<{
      id: string;
      title: string | null;
      last_seq: number;
      activity: number;
      last_message_at: number | null;
      members: string[];
      read_seq: number;
      unread: number;
    }>({
      name: "tkr_list_sessions",
      text: LIST_SQL,
      values: [
        caller.id,
        after?.activity ?? null,
        after?.id ?? null,
        limit + 1,
        [...unflushedReads.keys()],
        [...unflushedReads.values()],
      ],
    }),
  );
  const rows = result.rows.slice(0, limit);
  const sessions: SessionSummary[] = rows.map((row) => ({
    id: row.id,
    title: row.title,
    members: row.members,
    headSeq: row.last_seq,
    lastMessageAt: row.last_message_at,
    read: Number(row.read_seq),
    unread: row.unread,
  }));
  const last = rows.at(-1);
  const nextCursor =
    result.rows.length > limit && last
      ? encodeCursor({ activity: last.activity, id: last.id })
      : null;
  return { sessions, nextCursor };
}
