/**
 * Appending and reading messages: the hot path, so written in SQL rather than with drizzle. Each
 * statement is named (prepared once per connection), timestamps come back as ms computed in the
 * database, and the append and page statements (CTEs, row locks, window sums) have no builder
 * form that reads as well.
 */
import type pg from "pg";
import {
  type AppendResult,
  DEFAULT_PAGE_BYTES,
  DEFAULT_PAGE_LIMIT,
  GatewayError,
  MAX_METADATA_BYTES,
  type MessageInput,
  type MessageType,
  type PrincipalKind,
  type StoredMessage,
  utf8Bytes,
  type Visibility,
} from "../protocol/index.js";
import { visibleMessageSql } from "./audience.js";
import { constraintName, sqlState, withDb } from "./db-errors.js";
import { requireMember } from "./sessions.js";
import type { Principal } from "./types.js";

/**
 * Checks the rules of PROTOCOL.md section 6 that a schema cannot: sizes and sender identity.
 * The payload has already passed `MessageInput`.
 */
/** A message's or stream's `metadata`: at most MAX_METADATA_BYTES serialized (TOO_LARGE). */
export function checkMetadataSize(metadata: unknown): void {
  if (metadata !== undefined && utf8Bytes(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    throw new GatewayError(
      "TOO_LARGE",
      `metadata is larger than ${MAX_METADATA_BYTES} bytes serialized`,
    );
  }
}

export function checkMessageRules(
  caller: Principal,
  input: MessageInput,
  maxContentBytes: number,
): void {
  if (input.content.length > maxContentBytes || utf8Bytes(input.content) > maxContentBytes) {
    throw new GatewayError("TOO_LARGE", `content is larger than ${maxContentBytes} bytes`);
  }
  checkMetadataSize(input.metadata);
  if (input.senderId !== undefined && input.senderId !== caller.id) {
    throw new GatewayError("FORBIDDEN", "senderId must equal the token's sub");
  }
  if (input.visibility === "direct" && input.receiverId === undefined) {
    throw new GatewayError("INVALID_PAYLOAD", "receiverId: required when visibility is direct");
  }
}

/**
 * Locks the session row (bumping `last_seq`), and inserts the message with that seq, in one
 * statement and so one implicit transaction. The member checks (the sender's, and a direct
 * message's receiver's) ride along in the UPDATE's WHERE. When the insert fails (the id exists)
 * the bump rolls back with it, so `seq` stays gap-free.
 */
const APPEND_SQL = `
with s as (
  update sessions set last_seq = last_seq + 1
  where id = $1 and exists (
    select 1 from session_members m where m.session_id = $1 and m.principal_id = $2)
  and ($12 = 'session' or exists (
    select 1 from session_members r where r.session_id = $1 and r.principal_id = $7))
  returning last_seq
)
insert into messages (session_id, seq, id, sender_id, sender_kind, type, content,
  receiver_id, context_id, reply_to, metadata, client_timestamp, visibility)
select $1, s.last_seq, $3, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12 from s
returning seq, (extract(epoch from created_at) * 1000)::bigint as created_at`;

export interface Appended {
  result: AppendResult;
  /** The stored message; undefined for a duplicate, which is not broadcast again. */
  message: StoredMessage | undefined;
}

export async function appendMessage(
  pool: pg.Pool,
  caller: Principal,
  input: MessageInput,
): Promise<Appended> {
  let inserted: pg.QueryResult<{ seq: number; created_at: number }>;
  try {
    inserted = await withDb(() =>
      pool.query({
        name: "tkr_append",
        text: APPEND_SQL,
        values: [
          input.sessionId,
          caller.id,
          input.id,
          caller.kind,
          input.type,
          input.content,
          input.receiverId ?? null,
          input.contextId ?? null,
          input.replyTo ?? null,
          input.metadata === undefined ? null : JSON.stringify(input.metadata),
          input.timestamp ?? null,
          input.visibility ?? "session",
        ],
      }),
    );
  } catch (err) {
    if (sqlState(err) === "23505" && constraintName(err) === "messages_id_idx") {
      return { result: await existingAppend(pool, caller, input), message: undefined };
    }
    throw err;
  }
  const row = inserted.rows[0];
  if (!row) {
    // No row bumped: the session is missing, or the caller or a direct message's receiver is
    // not a member. Say which.
    await requireMember(pool, input.sessionId, caller.id);
    if (input.visibility === "direct" && input.receiverId !== undefined) {
      // A resend of a message stored before its receiver left is still a duplicate.
      const stored = await storedAppend(pool, caller, input);
      if (stored) return { result: stored, message: undefined };
      throw new GatewayError(
        "INVALID_PAYLOAD",
        `receiverId: ${input.receiverId} is not a member of session ${input.sessionId}`,
      );
    }
    throw new GatewayError("FORBIDDEN", `Not a member of session ${input.sessionId}`);
  }
  const message = toStoredMessage(input, caller, row.seq, row.created_at);
  return {
    result: { id: input.id, seq: row.seq, createdAt: row.created_at, duplicate: false },
    message,
  };
}

/** The id is taken: the original's seq when it is the same sender and session, else CONFLICT. */
async function existingAppend(
  pool: pg.Pool,
  caller: Principal,
  input: MessageInput,
): Promise<AppendResult> {
  const stored = await storedAppend(pool, caller, input);
  if (stored) return stored;
  throw new GatewayError(
    "CONFLICT",
    `Message id ${input.id} is already used by another sender or session`,
  );
}

/**
 * The ack of the caller's stored message `id` in `sessionId` (duplicate: true), undefined when
 * no message has that id, CONFLICT when another sender or session has it.
 */
export async function storedAs(
  pool: pg.Pool,
  caller: Principal,
  sessionId: string,
  id: string,
): Promise<AppendResult | undefined> {
  const found = await withDb(() =>
    pool.query<{ session_id: string; sender_id: string; seq: number; created_at: number }>(
      "select session_id, sender_id, seq, (extract(epoch from created_at) * 1000)::bigint as created_at " +
        "from messages where id = $1",
      [id],
    ),
  );
  const row = found.rows[0];
  if (!row) return undefined;
  if (row.session_id === sessionId && row.sender_id === caller.id) {
    return { id, seq: Number(row.seq), createdAt: Number(row.created_at), duplicate: true };
  }
  throw new GatewayError(
    "CONFLICT",
    `Message id ${id} is already used by another sender or session`,
  );
}

/** The original's ack when this id is stored, by the same sender, in the same session. */
async function storedAppend(
  pool: pg.Pool,
  caller: Principal,
  input: MessageInput,
): Promise<AppendResult | undefined> {
  try {
    return await storedAs(pool, caller, input.sessionId, input.id);
  } catch (err) {
    if (err instanceof GatewayError && err.code === "CONFLICT") return undefined;
    throw err;
  }
}

/** The message as broadcast; `sender.name` is the display name to carry (else its id). */
export function toStoredMessage(
  input: MessageInput,
  sender: Principal,
  seq: number,
  createdAt: number,
): StoredMessage {
  const message: StoredMessage = {
    id: input.id,
    sessionId: input.sessionId,
    seq,
    senderId: sender.id,
    senderKind: sender.kind,
    senderName: sender.name ?? sender.id,
    content: input.content,
    type: input.type,
    visibility: input.visibility ?? "session",
    timestamp: input.timestamp ?? createdAt,
    createdAt,
    status: "sent",
  };
  if (input.receiverId !== undefined) message.receiverId = input.receiverId;
  if (input.contextId !== undefined) message.contextId = input.contextId;
  if (input.replyTo !== undefined) message.replyTo = input.replyTo;
  if (input.metadata !== undefined) message.metadata = input.metadata;
  return message;
}

type MessageRow = {
  session_id: string;
  seq: number;
  id: string;
  sender_id: string;
  sender_kind: PrincipalKind;
  sender_name: string;
  type: MessageType;
  content: string;
  receiver_id: string | null;
  visibility: Visibility;
  context_id: string | null;
  reply_to: string | null;
  metadata: Record<string, unknown> | null;
  client_timestamp: number | null;
  created_at: number;
};

function rowToMessage(row: MessageRow): StoredMessage {
  const message: StoredMessage = {
    id: row.id,
    sessionId: row.session_id,
    seq: row.seq,
    senderId: row.sender_id,
    senderKind: row.sender_kind,
    senderName: row.sender_name,
    content: row.content,
    type: row.type,
    visibility: row.visibility,
    timestamp: row.client_timestamp ?? row.created_at,
    createdAt: row.created_at,
    status: "sent",
  };
  if (row.receiver_id !== null) message.receiverId = row.receiver_id;
  if (row.context_id !== null) message.contextId = row.context_id;
  if (row.reply_to !== null) message.replyTo = row.reply_to;
  if (row.metadata !== null) message.metadata = row.metadata;
  return message;
}

export interface MessagePageResult {
  messages: StoredMessage[];
  headSeq: number;
  hasMore: boolean;
}

/**
 * What a message weighs against a page's byte budget: its content and metadata in UTF-8 bytes,
 * plus a flat allowance for the envelope.
 */
const COST = "octet_length(content) + coalesce(octet_length(metadata::text), 0) + 256";

/**
 * The next `$3` seqs after `$2` (or, backwards, just before it) that reader `$5` may see
 * (audience.ts: direct messages only for their sender and receiver) with their weights (octet_length
 * reads a TOASTed value's size without loading it), then the full rows only of those that start
 * within the byte budget `$4`, summed from `$2`, so a page of large messages is never loaded
 * whole and the budget keeps the messages nearest to `$2`. The row that crosses the budget comes
 * back too (`takePage` keeps it only as a page's first message), and `total` counts the seqs
 * looked at, so the caller knows whether the page was cut. Each sender's name is its current one,
 * by the `principals` key (one lookup per row of the page, never a query per message).
 */
function pageSql(direction: "after" | "before"): string {
  const [cmp, order] = direction === "after" ? [">", "asc"] : ["<", "desc"];
  return `
with weights as (
  select seq, ${COST} as cost from messages
  where session_id = $1 and seq ${cmp} $2 and ${visibleMessageSql("$5")}
  order by seq ${order} limit $3
), page as (
  select seq, cost, sum(cost) over (order by seq ${order} rows unbounded preceding) - cost as before
  from weights
)
select m.session_id, m.seq, m.id, m.sender_id, m.sender_kind,
  coalesce(p.name, m.sender_id) as sender_name, m.type, m.content, m.receiver_id,
  m.visibility, m.context_id, m.reply_to, m.metadata, m.client_timestamp,
  (extract(epoch from m.created_at) * 1000)::bigint as created_at,
  page.cost::int as cost, (select count(*) from page)::int as total
from page join messages m on m.session_id = $1 and m.seq = page.seq
left join principals p on p.id = m.sender_id
where page.before <= $4
order by m.seq ${order}`;
}

const READ_PAGE_SQL = pageSql("after");
const READ_PAGE_BEFORE_SQL = pageSql("before");

type PageRow = MessageRow & { cost: number; total: number };

/** The rows that fit `limit` and `maxBytes` (at least one), in the order read. */
function takePage(rows: PageRow[], limit: number, maxBytes: number) {
  const messages: StoredMessage[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (messages.length === limit || (messages.length > 0 && bytes + row.cost > maxBytes)) break;
    bytes += row.cost;
    messages.push(rowToMessage(row));
  }
  return { messages, hasMore: messages.length < (rows[0]?.total ?? 0) };
}

export async function readMessages(
  pool: pg.Pool,
  caller: Principal,
  sessionId: string,
  afterSeq: number,
  limit: number = DEFAULT_PAGE_LIMIT,
  maxBytes: number = DEFAULT_PAGE_BYTES,
): Promise<MessagePageResult> {
  const access = await requireMember(pool, sessionId, caller.id);
  if (afterSeq >= access.headSeq) return { messages: [], headSeq: access.headSeq, hasMore: false };
  const result = await withDb(() =>
    pool.query<PageRow>({
      name: "tkr_read_page",
      text: READ_PAGE_SQL,
      values: [sessionId, afterSeq, limit + 1, maxBytes, caller.id],
    }),
  );
  const { messages, hasMore } = takePage(result.rows, limit, maxBytes);
  const last = messages.at(-1)?.seq ?? 0;
  return { messages, headSeq: Math.max(access.headSeq, last), hasMore };
}

/**
 * Messages with `seq < beforeSeq`: the `limit` just before it (and within `maxBytes`, at least
 * one), oldest first like a forward page; `hasMore` says that older ones exist. A `beforeSeq`
 * past the head reads the newest page. The caller must be a member.
 */
export async function readMessagesBefore(
  pool: pg.Pool,
  caller: Principal,
  sessionId: string,
  beforeSeq: number,
  limit: number = DEFAULT_PAGE_LIMIT,
  maxBytes: number = DEFAULT_PAGE_BYTES,
): Promise<MessagePageResult> {
  const access = await requireMember(pool, sessionId, caller.id);
  const before = Math.min(beforeSeq, access.headSeq + 1);
  if (before <= 1) return { messages: [], headSeq: access.headSeq, hasMore: false };
  const result = await withDb(() =>
    pool.query<PageRow>({
      name: "tkr_read_page_before",
      text: READ_PAGE_BEFORE_SQL,
      values: [sessionId, before, limit + 1, maxBytes, caller.id],
    }),
  );
  const { messages, hasMore } = takePage(result.rows, limit, maxBytes);
  messages.reverse();
  return { messages, headSeq: access.headSeq, hasMore };
}
