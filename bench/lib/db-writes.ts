/**
 * Counts the database writes a run causes, from Postgres' own statistics:
 *
 * - `pg_stat_statements` (when the server loads it; the bench's embedded Postgres does for the
 *   streams and people scenarios): calls and rows of every writing statement in the target's
 *   database, updated as each statement finishes, so exact for a window;
 * - `pg_stat_database`: commits and rows inserted/updated, which backends report only when idle
 *   and at most once a second, so a late flush can land outside the window (a cross-check);
 * - WAL bytes written by the whole server (`pg_current_wal_lsn`).
 */
import type pg from "pg";
import { isWrite, writeTargets } from "./write-targets.js";

interface Statement {
  queryid: string;
  query: string;
  calls: number;
  rows: number;
}

export interface WriteSnapshot {
  statements: Map<string, Statement> | undefined;
  xactCommit: number;
  tupInserted: number;
  tupUpdated: number;
  walLsn: string;
}

export interface WritesBetween {
  /** Null when pg_stat_statements is not loaded. */
  statementCalls: number | null;
  statementRows: number | null;
  /** The busiest writing statements of the window: the tables they change, calls and rows. */
  top: Array<{ query: string; calls: number; rows: number }>;
  /** Every writing statement of the window (not saved: the report takes what it needs). */
  all?: Array<{ query: string; calls: number; rows: number }>;
  xactCommits: number;
  tupInserted: number;
  tupUpdated: number;
  walBytes: number;
}

/** Makes pg_stat_statements readable in this database if the server loads it. */
export async function enableStatementStats(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query("create extension if not exists pg_stat_statements");
    await pool.query("select 1 from pg_stat_statements limit 1");
    return true;
  } catch {
    return false;
  }
}

export async function writeSnapshot(
  pool: pg.Pool,
  databaseUrl: string,
  statementStats: boolean,
): Promise<WriteSnapshot> {
  const database = new URL(databaseUrl).pathname.slice(1);
  const [db, wal, statements] = await Promise.all([
    pool.query<{ c: string; i: string; u: string }>(
      `select xact_commit::text as c, tup_inserted::text as i, tup_updated::text as u
       from pg_stat_database where datname = $1`,
      [database],
    ),
    pool.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn"),
    statementStats
      ? pool.query<Statement>(
          `select s.queryid::text as queryid, s.query, s.calls::float8 as calls,
                  s.rows::float8 as rows
           from pg_stat_statements s join pg_database d on d.oid = s.dbid
           where d.datname = $1`,
          [database],
        )
      : Promise.resolve(undefined),
  ]);
  const row = db.rows[0];
  return {
    // Named by the tables they change (the same names the servers' own counts use).
    statements: statements
      ? new Map(
          statements.rows
            .filter((s) => isWrite(s.query))
            .map((s) => [s.queryid, { ...s, query: writeTargets(s.query) }]),
        )
      : undefined,
    xactCommit: Number(row?.c ?? 0),
    tupInserted: Number(row?.i ?? 0),
    tupUpdated: Number(row?.u ?? 0),
    walLsn: wal.rows[0]?.lsn ?? "0/0",
  };
}

function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  return (BigInt(`0x${hi ?? "0"}`) << 32n) + BigInt(`0x${lo ?? "0"}`);
}

export function writesBetween(before: WriteSnapshot, after: WriteSnapshot): WritesBetween {
  let calls: number | null = null;
  let rows: number | null = null;
  const top: WritesBetween["top"] = [];
  if (before.statements && after.statements) {
    calls = 0;
    rows = 0;
    for (const [id, s] of after.statements) {
      const b = before.statements.get(id);
      const dc = s.calls - (b?.calls ?? 0);
      const dr = s.rows - (b?.rows ?? 0);
      if (dc <= 0) continue;
      calls += dc;
      rows += dr;
      top.push({ query: s.query, calls: dc, rows: dr });
    }
    top.sort((a, b) => b.calls - a.calls);
  }
  return {
    statementCalls: calls,
    statementRows: rows,
    top: top.slice(0, 8),
    ...(before.statements && after.statements ? { all: top } : {}),
    xactCommits: after.xactCommit - before.xactCommit,
    tupInserted: after.tupInserted - before.tupInserted,
    tupUpdated: after.tupUpdated - before.tupUpdated,
    walBytes: Number(lsnBytes(after.walLsn) - lsnBytes(before.walLsn)),
  };
}
