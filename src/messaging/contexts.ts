/**
 * Contexts: optimistic-concurrency writes with their history, and reads. Written in SQL, not with
 * drizzle: the upsert's conditional `do update … where` and `xmax = 0` (inserted or updated) and
 * the ms timestamps computed in the database have no builder form that reads as well.
 */
import type pg from "pg";
import {
  type Context,
  type ContextUpdatePayload,
  GatewayError,
  MAX_CONTEXT_BYTES,
  utf8Bytes,
} from "../protocol/index.js";
import { readableContextSql } from "./audience.js";
import { withDb } from "./db-errors.js";
import { requireMember } from "./sessions.js";
import type { Principal } from "./types.js";

/**
 * Upserts the current row, bumping `version` only when `expectedVersion` (if given) matches.
 * A concurrent writer with the same expectation waits on the row lock, then finds the new
 * version and updates nothing: exactly one wins. Every write states the context's whole scope:
 * `targets` and the expiry are replaced, so an update without them makes the context everyone's
 * and lasting (PROTOCOL.md section 4).
 */
const UPSERT_SQL = `
insert into contexts as c (session_id, context_id, data, version, updated_by, updated_at,
  targets, expires_at)
values ($1, $2, $3, 1, $4, now(), $6::text[],
  now() + make_interval(secs => $7::int))
on conflict (session_id, context_id) do update
  set data = excluded.data, version = c.version + 1, updated_by = excluded.updated_by,
    updated_at = now(), targets = excluded.targets, expires_at = excluded.expires_at
  where $5::int is null or c.version = $5::int
returning version, (extract(epoch from updated_at) * 1000)::bigint as updated_at,
  (extract(epoch from expires_at) * 1000)::bigint as expires_at, (xmax = 0) as inserted`;

/**
 * An expired context no longer exists for anyone, even before the sweep deletes it: a write
 * starts it afresh at version 1 (its history goes with the old row, by the cascade).
 */
const DROP_EXPIRED_SQL =
  "delete from contexts where session_id = $1 and context_id = $2 and expires_at <= now()";

export async function updateContext(
  pool: pg.Pool,
  caller: Principal,
  input: ContextUpdatePayload,
): Promise<Context> {
  const serialized = JSON.stringify(input.contextData);
  if (utf8Bytes(serialized) > MAX_CONTEXT_BYTES) {
    throw new GatewayError(
      "TOO_LARGE",
      `contextData is larger than ${MAX_CONTEXT_BYTES} bytes serialized`,
    );
  }
  await requireMember(pool, input.sessionId, caller.id);
  if (input.targets !== undefined) {
    await requireTargetsAreMembers(pool, input.sessionId, input.targets);
  }
  const expected = input.expectedVersion ?? null;

  return withDb(async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query(DROP_EXPIRED_SQL, [input.sessionId, input.contextId]);
      const upserted = await client.query<{
        version: number;
        updated_at: number;
        expires_at: number | null;
        inserted: boolean;
      }>(UPSERT_SQL, [
        input.sessionId,
        input.contextId,
        serialized,
        caller.id,
        expected,
        input.targets === undefined ? null : [...new Set(input.targets)],
        input.ttlSeconds ?? null,
      ]);
      const row = upserted.rows[0];
      // A new context is version 1; expecting any other version of it is stale.
      if (!row || (row.inserted && expected !== null && expected !== 0)) {
        await client.query("rollback");
        const current = await client.query<{ version: number }>(
          "select version from contexts where session_id = $1 and context_id = $2 " +
            "and (expires_at is null or expires_at > now())",
          [input.sessionId, input.contextId],
        );
        const version = current.rows[0]?.version ?? 0;
        throw new GatewayError(
          "CONFLICT",
          `expectedVersion ${expected} is stale: the current version of ${input.contextId} is ${version}`,
        );
      }
      await client.query(
        "insert into context_versions (session_id, context_id, version, data, updated_by, updated_at) " +
          "values ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000))",
        [input.sessionId, input.contextId, row.version, serialized, caller.id, row.updated_at],
      );
      await client.query("commit");
      const context: Context = {
        sessionId: input.sessionId,
        contextId: input.contextId,
        contextData: input.contextData,
        version: row.version,
        sourceAgentId: caller.id,
        updatedAt: row.updated_at,
      };
      if (input.targets !== undefined) context.targets = [...new Set(input.targets)];
      if (row.expires_at !== null) context.expiresAt = row.expires_at;
      return context;
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  });
}

/** Every target must be a member of the session (INVALID_PAYLOAD naming those who are not). */
async function requireTargetsAreMembers(
  pool: pg.Pool,
  sessionId: string,
  targets: string[],
): Promise<void> {
  const found = await withDb(() =>
    pool.query<{ principal_id: string }>(
      "select principal_id from session_members where session_id = $1 and principal_id = any($2)",
      [sessionId, targets],
    ),
  );
  const members = new Set(found.rows.map((row) => row.principal_id));
  const outsiders = targets.filter((id) => !members.has(id));
  if (outsiders.length > 0) {
    throw new GatewayError(
      "INVALID_PAYLOAD",
      `targets: not members of session ${sessionId}: ${outsiders.slice(0, 5).join(", ")}`,
    );
  }
}

type ContextRow = {
  session_id: string;
  context_id: string;
  data: Record<string, unknown>;
  version: number;
  updated_by: string;
  updated_at: number;
  targets: string[] | null;
  expires_at: number | null;
};

/**
 * One context (NOT_FOUND when absent) or all of a session's, oldest first. Expired contexts and
 * targeted ones the caller is not among are left out, and a single one of them is NOT_FOUND, so
 * nobody learns of a context that is not for them.
 */
export async function getContexts(
  pool: pg.Pool,
  caller: Principal,
  sessionId: string,
  contextId?: string,
): Promise<Context[]> {
  await requireMember(pool, sessionId, caller.id);
  const result = await withDb(() =>
    pool.query<ContextRow>(
      "select session_id, context_id, data, version, updated_by, targets, " +
        "(extract(epoch from updated_at) * 1000)::bigint as updated_at, " +
        "(extract(epoch from expires_at) * 1000)::bigint as expires_at from contexts " +
        `where session_id = $1 and ($2::text is null or context_id = $2) and ${readableContextSql("$3")} ` +
        "order by updated_at, context_id",
      [sessionId, contextId ?? null, caller.id],
    ),
  );
  if (contextId !== undefined && result.rows.length === 0) {
    throw new GatewayError(
      "NOT_FOUND",
      `Context ${contextId} does not exist in session ${sessionId}`,
    );
  }
  return result.rows.map((row) => {
    const context: Context = {
      sessionId: row.session_id,
      contextId: row.context_id,
      contextData: row.data,
      version: row.version,
      sourceAgentId: row.updated_by,
      updatedAt: row.updated_at,
    };
    if (row.targets !== null) context.targets = row.targets;
    if (row.expires_at !== null) context.expiresAt = row.expires_at;
    return context;
  });
}
