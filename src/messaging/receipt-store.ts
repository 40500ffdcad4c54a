/**
 * The receipt watermarks in `session_members` (PROTOCOL.md `receipt`). Every write takes the
 * greater of the stored and the new value, so a late or repeated write, from this node or
 * another, can never move a watermark backwards.
 */
import type pg from "pg";
import type { MemberReceipt } from "../protocol/index.js";
import { withDb } from "./db-errors.js";

/** What one receipt needs to know before it is taken. */
export interface MemberState {
  /** The session's newest seq. */
  head: number;
  member: boolean;
  delivered: number;
  read: number;
}

/** The session's head and the member's watermarks in one read; undefined: no such session. */
export async function readMemberState(
  pool: pg.Pool,
  sessionId: string,
  principalId: string,
): Promise<MemberState | undefined> {
  const result = await withDb(() =>
    pool.query<{ last_seq: number; member: boolean; delivered: number; read: number }>({
      name: "tkr_receipt_member_state",
      text:
        "select s.last_seq, m.principal_id is not null as member, " +
        "coalesce(m.delivered_seq, 0)::float8 as delivered, coalesce(m.read_seq, 0)::float8 as read " +
        "from sessions s left join session_members m " +
        "on m.session_id = s.id and m.principal_id = $2 where s.id = $1",
      values: [sessionId, principalId],
    }),
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    head: Number(row.last_seq),
    member: row.member,
    delivered: row.delivered,
    read: row.read,
  };
}

/** Every member's stored watermarks, in member order (as `members` lists them). */
export async function readSessionReceipts(
  pool: pg.Pool,
  sessionId: string,
): Promise<MemberReceipt[]> {
  const result = await withDb(() =>
    pool.query<{ principal_id: string; delivered: number; read: number }>({
      name: "tkr_receipt_session",
      text:
        "select principal_id, delivered_seq::float8 as delivered, read_seq::float8 as read " +
        "from session_members where session_id = $1 order by added_at, principal_id",
      values: [sessionId],
    }),
  );
  return result.rows.map((row) => ({
    principalId: row.principal_id,
    delivered: row.delivered,
    read: row.read,
  }));
}

export interface ReceiptRow {
  sessionId: string;
  principalId: string;
  delivered: number;
  read: number;
}

/**
 * Raises many members' watermarks in one statement and returns them as stored after it (a
 * member removed meanwhile returns nothing). The rows are locked in key order first, so two
 * nodes flushing overlapping members wait for each other instead of deadlocking.
 */
const WRITE_SQL = `
with v as (
  select * from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
    as v(session_id, principal_id, delivered, read)
), locked as (
  select m.session_id, m.principal_id from session_members m
  join v on v.session_id = m.session_id and v.principal_id = m.principal_id
  order by m.session_id, m.principal_id
  for update of m
)
update session_members m
set delivered_seq = greatest(m.delivered_seq, v.delivered, v.read),
  read_seq = greatest(m.read_seq, v.read)
from v, locked l
where m.session_id = v.session_id and m.principal_id = v.principal_id
  and l.session_id = m.session_id and l.principal_id = m.principal_id
returning m.session_id, m.principal_id, m.delivered_seq::float8 as delivered,
  m.read_seq::float8 as read`;

export async function writeReceipts(pool: pg.Pool, rows: ReceiptRow[]): Promise<ReceiptRow[]> {
  const result = await withDb(() =>
    pool.query<{ session_id: string; principal_id: string; delivered: number; read: number }>({
      name: "tkr_receipt_write",
      text: WRITE_SQL,
      values: [
        rows.map((r) => r.sessionId),
        rows.map((r) => r.principalId),
        rows.map((r) => r.delivered),
        rows.map((r) => r.read),
      ],
    }),
  );
  return result.rows.map((row) => ({
    sessionId: row.session_id,
    principalId: row.principal_id,
    delivered: row.delivered,
    read: row.read,
  }));
}
