/**
 * The committed migrations in `drizzle/`, applied by `runMigrations` to a database with nothing in
 * it (not the test template, which already has them).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createDatabase, type Database } from "../src/db/client.js";
import { MIGRATIONS_FOLDER, runMigrations } from "../src/db/migrate.js";
import * as schema from "../src/db/schema.js";
import { withDatabase } from "./helpers/urls.js";

const tables: PgTable[] = (Object.values(schema) as unknown[]).filter((value): value is PgTable =>
  is(value, PgTable),
);
const journal = JSON.parse(
  readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
) as { entries: unknown[] };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A new database with nothing in it, dropped after the test. */
async function emptyDatabase(): Promise<{ url: string; open(): Database }> {
  const name = `tkr_mig_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = withDatabase(inject("pgAdminUrl"), name);
  const opened: Database[] = [];
  cleanups.push(async () => {
    for (const database of opened) await database.close();
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  });
  return {
    url,
    open() {
      const database = createDatabase({ url, max: 2 });
      opened.push(database);
      return database;
    },
  };
}

type ColumnRow = { table_name: string; column_name: string; type: string; not_null: boolean };

async function publicColumns(pool: pg.Pool): Promise<ColumnRow[]> {
  const r = await pool.query<ColumnRow>(
    `select c.relname as table_name, a.attname as column_name,
            format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      order by 1, 2`,
  );
  return r.rows;
}

/** drizzle's SQL type spelled as Postgres's format_type spells it. */
function pgSpelling(sqlType: string): string {
  return sqlType.replace(/^bigserial$/, "bigint").replace(/ \(/, "(");
}

async function appliedMigrations(pool: pg.Pool): Promise<Array<{ hash: string }>> {
  const r = await pool.query<{ hash: string }>(
    "select hash from drizzle.__drizzle_migrations order by id",
  );
  return r.rows;
}

/** Every relation in the public schema with its oid: a drop and re-create would change them. */
async function relations(pool: pg.Pool): Promise<Array<{ relname: string; oid: number }>> {
  const r = await pool.query<{ relname: string; oid: number }>(
    `select c.relname, c.oid::int as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' order by c.relname`,
  );
  return r.rows;
}

describe("migrations", () => {
  it("start from a database that has no tables at all", async () => {
    const target = await emptyDatabase();
    const { pool } = target.open();
    expect(await relations(pool)).toEqual([]);
  });

  it("create every table, column and index of src/db/schema.ts in an empty database", async () => {
    const target = await emptyDatabase();
    const { pool } = target.open();
    await runMigrations(pool);

    const expected: ColumnRow[] = tables.flatMap((table) => {
      const config = getTableConfig(table);
      return config.columns.map((column) => ({
        table_name: config.name,
        column_name: column.name,
        type: pgSpelling(column.getSQLType()),
        not_null: column.notNull,
      }));
    });
    const sortKey = (c: ColumnRow) => `${c.table_name}.${c.column_name}`;
    expected.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const actual = await publicColumns(pool);
    actual.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    expect(tables.map((t) => getTableConfig(t).name).sort()).toEqual([
      "connection_audit",
      "context_versions",
      "contexts",
      "messages",
      "principals",
      "session_members",
      "sessions",
      "socket_io_attachments",
    ]);
    expect(actual).toEqual(expected);

    const indexes = await pool.query<{ indexname: string }>(
      "select indexname from pg_indexes where schemaname = 'public'",
    );
    const names = indexes.rows.map((r) => r.indexname);
    for (const table of tables) {
      for (const index of getTableConfig(table).indexes) {
        expect(names).toContain(index.config.name);
      }
    }
    expect(await appliedMigrations(pool)).toHaveLength(journal.entries.length);
  });

  it("record the senders of messages stored before principals existed, earliest kind first", async () => {
    const empty = await emptyDatabase();
    const { pool } = empty.open();
    const first = (journal.entries as Array<{ tag: string }>)[0]?.tag;
    await pool.query(readFileSync(path.join(MIGRATIONS_FOLDER, `${first}.sql`), "utf8"));
    await pool.query(`
      insert into sessions (id, created_by) values ('s1', 'alice');
      insert into messages (session_id, seq, id, sender_id, sender_kind, type, content, created_at)
      values ('s1', 1, 'm1', 'alice', 'user', 'text', 'a', now() - interval '2 minutes'),
             ('s1', 2, 'm2', 'alice', 'agent', 'text', 'b', now() - interval '1 minute'),
             ('s1', 3, 'm3', 'bot', 'agent', 'text', 'c', now());`);
    // Mark 0000 applied the way drizzle's migrator does, so only the later ones run.
    const hash = (await import("node:crypto"))
      .createHash("sha256")
      .update(readFileSync(path.join(MIGRATIONS_FOLDER, `${first}.sql`), "utf8"))
      .digest("hex");
    const when = (journal.entries as Array<{ when: number }>)[0]?.when;
    await pool.query(`
      create schema if not exists drizzle;
      create table if not exists drizzle.__drizzle_migrations (
        id serial primary key, hash text not null, created_at bigint);`);
    await pool.query(
      "insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)",
      [hash, when],
    );
    await runMigrations(pool);
    const rows = await pool.query("select id, kind, name from principals order by id");
    expect(rows.rows).toEqual([
      { id: "alice", kind: "user", name: "alice" },
      { id: "bot", kind: "agent", name: "bot" },
    ]);
  });

  it("change nothing when run a second time", async () => {
    const target = await emptyDatabase();
    const { pool } = target.open();
    await runMigrations(pool);
    await pool.query("insert into sessions (id, created_by) values ('kept', 'alice')");
    const migrationsBefore = await appliedMigrations(pool);
    const relationsBefore = await relations(pool);
    const columnsBefore = await publicColumns(pool);

    await runMigrations(pool);

    expect(await appliedMigrations(pool)).toEqual(migrationsBefore);
    expect(await relations(pool)).toEqual(relationsBefore);
    expect(await publicColumns(pool)).toEqual(columnsBefore);
    const kept = await pool.query("select id from sessions");
    expect(kept.rows).toEqual([{ id: "kept" }]);
  });

  it("apply once when several nodes migrate the same empty database at the same moment", async () => {
    const target = await emptyDatabase();
    const nodes = [target.open(), target.open(), target.open()];
    await Promise.all(nodes.map((node) => runMigrations(node.pool)));
    const first = nodes[0];
    if (!first) throw new Error("no node");
    expect(await appliedMigrations(first.pool)).toHaveLength(journal.entries.length);
    expect((await relations(first.pool)).length).toBeGreaterThan(tables.length);
  });

  it("wait for another node's migration longer than the pool's query timeout", async () => {
    const target = await emptyDatabase();
    const holder = new pg.Client({ connectionString: target.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query("select pg_advisory_lock(7272747)");
    const pool = new pg.Pool({ connectionString: target.url, max: 2 });
    // pool.end() can resolve before a client's socket has closed; the cleanup's forced drop then
    // terminates that backend and the closing client reports it. That is the test's own teardown,
    // not a fault: without a listener it was an unhandled error that failed the run.
    holder.on("error", () => {});
    pool.on("error", () => {});
    cleanups.push(() => pool.end());
    const { pool: timed } = createDatabase({ url: target.url, max: 2, queryTimeoutMs: 200 });
    cleanups.push(() => timed.end());
    const migrating = runMigrations(timed);
    // Held past both timeouts (200 ms server side, 1.2 s client side) before it is let go.
    await waitForRow(
      pool,
      "select 1 from pg_stat_activity where wait_event_type = 'Lock' and now() - query_start > interval '1500 ms'",
    );
    await holder.query("select pg_advisory_unlock(7272747)");
    await migrating;
    expect(await appliedMigrations(timed)).toHaveLength(journal.entries.length);
    // The client goes back to the pool with its timeouts.
    const after = await timed.query("show statement_timeout");
    expect(after.rows[0]).toEqual({ statement_timeout: "200ms" });
  });
});

async function waitForRow(pool: pg.Pool, query: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await pool.query(query)).rowCount === 0) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${query}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
