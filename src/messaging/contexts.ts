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
import { withDb } from "./db-errors.js";
import { requireMember } from "./sessions.js";
import type { Principal } from "./types.js";

/**
 * Upserts the current row, bumping `version` only when `expectedVersion` (if given) matches.
 * A concurrent writer with the same expectation waits on the row lock, then finds the new
 * version and updates nothing: exactly one wins.
 */
const UPSERT_SQL = `
insert into contexts as c (session_id, context_id, data, version, updated_by, updated_at)
values ($1, $2, $3, 1, $4, now())
on conflict (session_id, context_id) do update
  set data = excluded.data, version = c.version + 1, updated_by = excluded.updated_by, updated_at = now()
  where $5::int is null or c.version = $5::int
returning version, (extract(epoch from updated_at) * 1000)::bigint as updated_at, (xmax = 0) as inserted`;

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
  const expected = input.expectedVersion ?? null;

  return withDb(async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const upserted = await client.query<{
        version: number;
        updated_at: number;
        inserted: boolean;
      }>(UPSERT_SQL, [input.sessionId, input.contextId, serialized, caller.id, expected]);
      const row = upserted.rows[0];
      // A new context is version 1; expecting any other version of it is stale.
      if (!row || (row.inserted && expected !== null && expected !== 0)) {
        await client.query("rollback");
        const current = await client.query<{ version: number }>(
          "select version from contexts where session_id = $1 and context_id = $2",
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
      return {
        sessionId: input.sessionId,
        contextId: input.contextId,
        contextData: input.contextData,
        version: row.version,
        sourceAgentId: caller.id,
        updatedAt: row.updated_at,
      };
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  });
}

type ContextRow = {
  session_id: string;
  context_id: string;
  data: Record<string, unknown>;
  version: number;
  updated_by: string;
  updated_at: number;
};

/** One context (NOT_FOUND when absent) or all of a session's, oldest first. */
export async function getContexts(
  pool: pg.Pool,
  caller: Principal,
  sessionId: string,
  contextId?: string,
): Promise<Context[]> {
  await requireMember(pool, sessionId, caller.id);
  const result = await withDb(() =>
    pool.query<ContextRow>(
      "select session_id, context_id, data, version, updated_by, " +
        "(extract(epoch from updated_at) * 1000)::bigint as updated_at from contexts " +
        "where session_id = $1 and ($2::text is null or context_id = $2) order by updated_at, context_id",
      [sessionId, contextId ?? null],
    ),
  );
  if (contextId !== undefined && result.rows.length === 0) {
    throw new GatewayError(
      "NOT_FOUND",
      `Context ${contextId} does not exist in session ${sessionId}`,
    );
  }
  return result.rows.map((row) => ({
    sessionId: row.session_id,
    contextId: row.context_id,
    contextData: row.data,
    version: row.version,
    sourceAgentId: row.updated_by,
    updatedAt: row.updated_at,
  }));
}
