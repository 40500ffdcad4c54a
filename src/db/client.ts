import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import type { Logger } from "pino";
import * as schema from "./schema.js";

/** drizzle over the pool; `db.$client` is that pool, for the few statements written in SQL. */
export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export interface DatabaseOptions {
  /** Postgres connection string. */
  url: string;
  /** Most connections the pool opens. Default 10. */
  max?: number;
  /** Name shown in `pg_stat_activity.application_name`. Default `tkr-gateway`. */
  applicationName?: string;
  /**
   * Longest one statement may run, in ms: Postgres cancels it (`statement_timeout`), and the
   * client gives up a little later on its own (`query_timeout`) when no answer comes at all, as on
   * a TCP path that stays up but passes nothing. Default 10,000; 0: no limit.
   */
  queryTimeoutMs?: number;
  logger?: Logger;
}

/** Longest a readiness probe waits for `select 1`: inside Fly's 3 s check timeout. */
export const READINESS_PROBE_MS = 2_000;

/** How much longer the client waits than the server, so a live server reports its own cancel. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

export interface Database {
  pool: pg.Pool;
  db: Db;
  /**
   * True when the database answers `select 1` within `timeoutMs`; for readiness checks, which must
   * say "not ready" quickly when the database is silent rather than wait for the query timeout.
   */
  probe(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const parseInt8 = (value: string) => Number.parseInt(value, 10);

/**
 * This pool's type parsers. Postgres bigint (int8) comes back as a string by default; every bigint
 * we store (seq, ms timestamps) fits in a double, so this pool parses it as a number. Set on the
 * pool rather than with `pg.types.setTypeParser`, which would change every pg client in the
 * process (the cluster adapter's, a library's) as a side effect of importing this file.
 */
export const POOL_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary"
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** Opens a pool and wraps it in drizzle. The pool never throws from an idle client's error. */
export function createDatabase(options: DatabaseOptions): Database {
  const timeoutMs = options.queryTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "tkr-gateway",
    keepAlive: true,
    types: POOL_TYPES,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...(timeoutMs > 0
      ? { statement_timeout: timeoutMs, query_timeout: timeoutMs + CLIENT_TIMEOUT_MARGIN_MS }
      : {}),
  });
  // A client whose query timed out on the client side still waits for that query's answer, and
  // every later query on it queues behind and times out too. pool.query drops such a client, but a
  // checked-out client (transactions) is released without an error: drop it here instead.
  pool.on("release", (err, client) => {
    if (err || !hasQueryInFlight(client)) return;
    void client.end().catch(() => {});
  });
  // An idle client whose connection drops emits 'error' on the pool; unhandled, it would kill
  // the process. The next query gets a fresh client.
  pool.on("error", (err) => {
    options.logger?.warn({ err: { message: err.message } }, "idle database client failed");
  });
  const db = drizzle(pool, { schema });
  const probeConnection = new ProbeConnection(
    options.url,
    `${options.applicationName ?? "tkr-gateway"}-probe`,
  );
  let closed = false;
  return {
    pool,
    db,
    async probe(probeTimeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), probeTimeoutMs);
      });
      const answered = probeConnection.ask(probeTimeoutMs);
      try {
        const ready = await Promise.race([answered, late]);
        if (!ready) probeConnection.drop();
        return ready;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      probeConnection.drop();
      await pool.end();
    },
  };
}

/** pg keeps the query it waits on in a private field; a healthy released client has none. */
function hasQueryInFlight(client: pg.PoolClient): boolean {
  const internals = client as unknown as { _activeQuery?: unknown; _queryQueue?: unknown[] };
  return Boolean(internals._activeQuery) || (internals._queryQueue?.length ?? 0) > 0;
}

/**
 * The readiness probe's own connection, outside the pool: a node whose pool is busy (every client
 * checked out, callers queued) is slow, not unready, and a probe queued behind them would report
 * it dead and get it restarted or taken out of the load balancer exactly when it is loaded. Opened
 * on first use; any failure or late answer drops it, so the next probe opens a fresh one.
 */
class ProbeConnection {
  private client: pg.Client | undefined;
  private connected: Promise<unknown> | undefined;

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
  ) {}

  async ask(timeoutMs: number): Promise<boolean> {
    if (!this.client) {
      const client = new pg.Client({
        connectionString: this.url,
        application_name: this.applicationName,
        connectionTimeoutMillis: timeoutMs,
        keepAlive: true,
      });
      // A dropped connection emits 'error'; unhandled it would kill the process.
      client.on("error", () => {
        if (this.client === client) this.drop();
      });
      this.client = client;
      this.connected = client.connect();
    }
    const client = this.client;
    try {
      await this.connected;
      await client.query({ text: "select 1", query_timeout: timeoutMs } as pg.QueryConfig);
      return true;
    } catch {
      if (this.client === client) this.drop();
      return false;
    }
  }

  drop(): void {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    void client?.end().catch(() => {});
  }
}
