/**
 * The Postgres the bench runs on: an embedded server in a temp folder (deleted afterwards), or,
 * with DATABASE_URL, fresh scratch databases created on that server and dropped afterwards
 * (the user needs CREATEDB). Two databases either way: one migrated for the gateway, one for the
 * plain Socket.IO server, so their LISTEN/NOTIFY channels (scoped to a database) never mix.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";

export interface BenchDatabases {
  gatewayUrl: string;
  plainUrl: string;
  describe: string;
  /** The postmaster's pid when the server is ours (its CPU time is then measured). */
  postmasterPid(): number | undefined;
  close(): Promise<void>;
}

/** The socket.io postgres adapter's table, as its README gives it. */
const ATTACHMENTS_DDL = `create table if not exists socket_io_attachments (
  id bigserial unique, created_at timestamptz default now(), payload bytea)`;

async function adminQuery(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function openDatabases(options: {
  databaseUrl?: string | undefined;
  /** Load pg_stat_statements into the embedded server (database writes counted exactly). */
  statementStats?: boolean;
  log(line: string): void;
}): Promise<BenchDatabases> {
  const given = options.databaseUrl;
  if (!given) {
    options.log("starting an embedded Postgres in a temp folder…");
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "tkr-bench-pg-"));
    const embedded = await startEmbeddedPostgres({
      dataDir,
      ephemeral: true,
      postgresFlags: [
        "-c",
        "max_connections=300",
        // Only for the scenarios that count writes: it costs every statement a little.
        ...(options.statementStats ? ["-c", "shared_preload_libraries=pg_stat_statements"] : []),
      ],
    });
    const plainUrl = withDatabase(embedded.url, "tkr_plain");
    await adminQuery(embedded.url, "create database tkr_plain");
    await adminQuery(plainUrl, ATTACHMENTS_DDL);
    return {
      gatewayUrl: embedded.url,
      plainUrl,
      describe: "embedded (temp folder)",
      postmasterPid() {
        try {
          return Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
        } catch {
          return undefined;
        }
      },
      close: () => embedded.stop(),
    };
  }
  const name = `tkr_bench_${Date.now()}_${randomBytes(3).toString("hex")}`;
  try {
    await adminQuery(given, `create database ${name}`);
    await adminQuery(given, `create database ${name}_plain`);
  } catch (err) {
    throw new Error(
      `Could not create scratch databases on DATABASE_URL (${String(err)}). The bench never ` +
        "writes into an existing database: use a user with CREATEDB, or unset DATABASE_URL.",
    );
  }
  const plainUrl = withDatabase(given, `${name}_plain`);
  await adminQuery(plainUrl, ATTACHMENTS_DDL);
  return {
    gatewayUrl: withDatabase(given, name),
    plainUrl,
    describe: `DATABASE_URL, scratch databases ${name} and ${name}_plain`,
    postmasterPid: () => undefined,
    async close() {
      await adminQuery(given, `drop database if exists ${name} with (force)`);
      await adminQuery(given, `drop database if exists ${name}_plain with (force)`);
    },
  };
}

export async function serverFacts(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const facts: Record<string, string> = {};
  try {
    for (const name of [
      "server_version",
      "fsync",
      "synchronous_commit",
      "shared_buffers",
      "max_connections",
    ]) {
      const r = await client.query<{ v: string }>("select current_setting($1) as v", [name]);
      facts[name] = r.rows[0]?.v ?? "?";
    }
  } finally {
    await client.end();
  }
  return facts;
}
