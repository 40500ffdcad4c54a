import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import type { Logger } from "pino";
import * as schema from "./schema.js";

export type Db = NodePgDatabase<typeof schema>;

export interface DatabaseOptions {
  /** Postgres connection string. */
  url: string;
  /** Most connections the pool opens. Default 10. */
  max?: number;
  /** Name shown in `pg_stat_activity.application_name`. Default `tkr-gateway`. */
  applicationName?: string;
  logger?: Logger;
}

export interface Database {
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

// Postgres bigint (int8) and numeric come back as strings by default; every bigint we store
// (seq, ms timestamps) fits in a double, so parse them once here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/** Opens a pool and wraps it in drizzle. The pool never throws from an idle client's error. */
export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "tkr-gateway",
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose connection drops emits 'error' on the pool; unhandled, it would kill
  // the process. The next query gets a fresh client.
  pool.on("error", (err) => {
    options.logger?.warn({ err: { message: err.message } }, "idle database client failed");
  });
  const db = drizzle(pool, { schema });
  let closed = false;
  return {
    pool,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
