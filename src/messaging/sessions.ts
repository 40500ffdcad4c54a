import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import type pg from "pg";
import type { Db } from "../db/client.js";
import { principals, sessionMembers, sessions } from "../db/schema.js";
import {
  GatewayError,
  type MemberDetail,
  type MemberEvent,
  type SessionDetail,
} from "../protocol/index.js";
import { constraintName, sqlState, withDb } from "./db-errors.js";
import type { Principal } from "./types.js";

export interface SessionAccess {
  headSeq: number;
  title: string | null;
}

/**
 * One round trip that answers "does the session exist, and is this principal a member?" and
 * returns the head. Throws NOT_FOUND or FORBIDDEN. Raw SQL because it runs before every call: a
 * named (server-side prepared) statement, which drizzle's builder does not name.
 */
export async function requireMember(
  pool: pg.Pool,
  sessionId: string,
  principalId: string,
): Promise<SessionAccess> {
  const result = await withDb(() =>
    pool.query<{ last_seq: number; title: string | null; member: boolean }>({
      name: "tkr_require_member",
      text:
        "select s.last_seq, s.title, exists (select 1 from session_members m " +
        "where m.session_id = s.id and m.principal_id = $2) as member from sessions s where s.id = $1",
      values: [sessionId, principalId],
    }),
  );
  const row = result.rows[0];
  if (!row) throw new GatewayError("NOT_FOUND", `Session ${sessionId} does not exist`);
  if (!row.member) throw new GatewayError("FORBIDDEN", `Not a member of session ${sessionId}`);
  return { headSeq: row.last_seq, title: row.title };
}

export interface CreateSessionInput {
  id?: string | undefined;
  title?: string | undefined;
  members?: string[] | undefined;
}

export async function createSession(
  db: Db,
  caller: Principal,
  input: CreateSessionInput,
): Promise<SessionDetail> {
  const id = input.id ?? randomUUID();
  const members = [...new Set([caller.id, ...(input.members ?? [])])];
  try {
    await withDb(() =>
      db.transaction(async (tx) => {
        await tx.insert(sessions).values({ id, title: input.title ?? null, createdBy: caller.id });
        await tx
          .insert(sessionMembers)
          .values(members.map((principalId) => ({ sessionId: id, principalId })));
      }),
    );
  } catch (err) {
    if (sqlState(err) === "23505" && constraintName(err) === "sessions_pkey") {
      throw new GatewayError("CONFLICT", `Session ${id} already exists`);
    }
    throw err;
  }
  const seen = await withDb(() =>
    db
      .select({ principalId: principals.id, kind: principals.kind, name: principals.name })
      .from(principals)
      .where(inArray(principals.id, members)),
  );
  const byId = new Map(seen.map((p) => [p.principalId, p]));
  return {
    id,
    title: input.title ?? null,
    members,
    headSeq: 0,
    memberDetails: members.map((principalId) => detail(principalId, byId.get(principalId))),
  };
}

/** A member's kind and name as recorded; kind null and name = id when never seen with a token. */
function detail(
  principalId: string,
  seen: { kind: MemberDetail["kind"]; name: string | null } | undefined,
): MemberDetail {
  return { principalId, kind: seen?.kind ?? null, name: seen?.name ?? principalId };
}

export async function getSession(
  db: Db,
  caller: Principal,
  sessionId: string,
): Promise<SessionDetail> {
  const { headSeq, title } = await requireMember(db.$client, sessionId, caller.id);
  const members = await withDb(() =>
    db
      .select({
        principalId: sessionMembers.principalId,
        kind: principals.kind,
        name: principals.name,
      })
      .from(sessionMembers)
      .leftJoin(principals, eq(principals.id, sessionMembers.principalId))
      .where(eq(sessionMembers.sessionId, sessionId))
      .orderBy(sessionMembers.addedAt, sessionMembers.principalId),
  );
  return {
    id: sessionId,
    title,
    members: members.map((m) => m.principalId),
    headSeq,
    memberDetails: members.map((m) => detail(m.principalId, m)),
  };
}

/**
 * Adds a member; the caller must be one. Adding an existing member changes nothing and answers
 * false, so that nothing is announced twice.
 */
export async function addMember(
  db: Db,
  caller: Principal,
  sessionId: string,
  principalId: string,
): Promise<boolean> {
  await requireMember(db.$client, sessionId, caller.id);
  const inserted = await withDb(() =>
    db
      .insert(sessionMembers)
      .values({ sessionId, principalId })
      .onConflictDoNothing()
      .returning({ principalId: sessionMembers.principalId }),
  );
  return inserted.length > 0;
}

/** A member as `member:added` / `member:removed` name it: with kind and name once seen. */
export async function memberEvent(
  db: Db,
  sessionId: string,
  principalId: string,
): Promise<MemberEvent> {
  const found = await withDb(() =>
    db
      .select({ kind: principals.kind, name: principals.name })
      .from(principals)
      .where(eq(principals.id, principalId)),
  );
  const known = found[0];
  return known ? { sessionId, principalId, ...known } : { sessionId, principalId };
}

/** Removes a member; the caller must be one (members may remove themselves). */
export async function removeMember(
  db: Db,
  caller: Principal,
  sessionId: string,
  principalId: string,
): Promise<void> {
  await requireMember(db.$client, sessionId, caller.id);
  const removed = await withDb(() =>
    db
      .delete(sessionMembers)
      .where(
        and(eq(sessionMembers.sessionId, sessionId), eq(sessionMembers.principalId, principalId)),
      )
      .returning({ principalId: sessionMembers.principalId }),
  );
  if (removed.length === 0) {
    throw new GatewayError("NOT_FOUND", `${principalId} is not a member of session ${sessionId}`);
  }
}
