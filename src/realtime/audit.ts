/**
 * The connection audit, written off the message path: connects and disconnects are buffered and
 * written in batches (one statement per flush), never awaited per event, and flushed on close.
 */
import type pg from "pg";
import type { Logger } from "../observability/logger.js";

export interface ConnectRecord {
  socketId: string;
  namespace: string;
  principalId: string;
  principalKind: string;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
  transport: string | undefined;
  connectedAt: number;
}

interface Row extends Partial<ConnectRecord> {
  socketId: string;
  disconnectedAt?: number;
  reason?: string;
}

export interface AuditWriterOptions {
  pool: pg.Pool;
  nodeId: string;
  region: string | undefined;
  logger: Logger;
  /** Milliseconds between flushes. Default 1000. */
  flushIntervalMs?: number;
  /** Flush early once this many rows are buffered. Default 500. */
  maxBatch?: number;
  /** Rows kept when the database is away; the oldest are dropped past this. Default 50,000. */
  maxBuffered?: number;
}

export interface AuditWriter {
  connected(record: ConnectRecord): void;
  disconnected(socketId: string, reason: string, at?: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const UPSERT = `
insert into connection_audit (socket_id, namespace, principal_id, principal_kind, node_id, region,
  remote_address, user_agent, transport, connected_at, disconnected_at, reason)
select r.socket_id, r.namespace, r.principal_id, r.principal_kind, $1, $2, r.remote_address,
  r.user_agent, r.transport, to_timestamp(r.connected_at / 1000.0),
  to_timestamp(r.disconnected_at / 1000.0), r.reason
from jsonb_to_recordset($3::jsonb) as r(socket_id text, namespace text, principal_id text,
  principal_kind text, remote_address text, user_agent text, transport text,
  connected_at double precision, disconnected_at double precision, reason text)
on conflict (node_id, socket_id) do update set
  disconnected_at = coalesce(excluded.disconnected_at, connection_audit.disconnected_at),
  reason = coalesce(excluded.reason, connection_audit.reason)`;

/**
 * Longest stored text per field: these come from the client (a user agent may be kilobytes) and
 * the audit is kept for weeks, so a row stays small whatever a client sends.
 */
export const AUDIT_FIELD_LIMITS = {
  socketId: 64,
  namespace: 64,
  principalId: 64,
  principalKind: 16,
  remoteAddress: 64,
  userAgent: 256,
  transport: 32,
  reason: 128,
} as const;

function bound(row: Row): void {
  for (const [field, max] of Object.entries(AUDIT_FIELD_LIMITS)) {
    const key = field as keyof typeof AUDIT_FIELD_LIMITS;
    const value = row[key];
    if (typeof value === "string" && value.length > max) row[key] = value.slice(0, max);
  }
}

export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const log = options.logger.child({ module: "audit" });
  const maxBatch = options.maxBatch ?? 500;
  const maxBuffered = options.maxBuffered ?? 50_000;
  // Keyed by socket id, so a connect and its disconnect in one batch become one row.
  let buffer = new Map<string, Row>();
  let flushing: Promise<void> | undefined;
  let closed = false;

  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1000);
  timer.unref();

  function put(row: Row) {
    bound(row);
    const existing = buffer.get(row.socketId);
    buffer.set(row.socketId, existing ? { ...existing, ...row } : row);
    if (buffer.size >= maxBatch) void flush();
  }

  async function writeBatch(rows: Row[]) {
    // A disconnect whose connect row was written earlier has no connect fields; the insert
    // path needs them non-null, so such rows only update.
    const payload = rows.map((r) => ({
      socket_id: r.socketId,
      namespace: r.namespace ?? "",
      principal_id: r.principalId ?? null,
      principal_kind: r.principalKind ?? null,
      remote_address: r.remoteAddress ?? null,
      user_agent: r.userAgent ?? null,
      transport: r.transport ?? null,
      connected_at: r.connectedAt ?? r.disconnectedAt ?? Date.now(),
      disconnected_at: r.disconnectedAt ?? null,
      reason: r.reason ?? null,
    }));
    await options.pool.query(UPSERT, [
      options.nodeId,
      options.region ?? null,
      JSON.stringify(payload),
    ]);
  }

  async function flushOnce() {
    if (buffer.size === 0) return;
    const rows = [...buffer.values()];
    buffer = new Map();
    try {
      for (let i = 0; i < rows.length; i += maxBatch) await writeBatch(rows.slice(i, i + maxBatch));
    } catch (err) {
      // Keep the rows for the next flush (merged under newer events), bounded.
      for (const row of rows) {
        const newer = buffer.get(row.socketId);
        buffer.set(row.socketId, newer ? { ...row, ...newer } : row);
      }
      while (buffer.size > maxBuffered) {
        const oldest = buffer.keys().next().value as string;
        buffer.delete(oldest);
      }
      log.warn(
        { err: { message: (err as Error).message }, buffered: buffer.size },
        "audit flush failed",
      );
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    connected(record) {
      if (!closed) put(record);
    },
    disconnected(socketId, reason, at = Date.now()) {
      if (!closed) put({ socketId, reason, disconnectedAt: at });
    },
    flush: async () => {
      await flushing;
      await flush();
    },
    async close() {
      clearInterval(timer);
      await flushing;
      await flush();
      closed = true;
    },
  };
}

export interface AuditPrunerOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Rows whose connect is older than this many days are deleted; 0: never. */
  retentionDays: number;
  /** Milliseconds between passes. Default one hour. */
  intervalMs?: number;
  /** Most rows one pass deletes, so a pass is one short statement. Default 10,000. */
  maxRows?: number;
}

export interface AuditPruner {
  /** One pass now; resolves to the number of rows deleted. */
  prune(): Promise<number>;
  stop(): void;
}

const PRUNE = `
delete from connection_audit where id in (
  select id from connection_audit
  where connected_at < now() - make_interval(days => $1)
  limit $2)`;

/** Applies AUDIT_RETENTION_DAYS: a bounded delete every hour, off the event loop's keep-alive. */
export function createAuditPruner(options: AuditPrunerOptions): AuditPruner {
  const log = options.logger.child({ module: "audit" });
  const maxRows = options.maxRows ?? 10_000;
  const prune = async () => {
    if (options.retentionDays <= 0) return 0;
    const result = await options.pool.query(PRUNE, [options.retentionDays, maxRows]);
    return result.rowCount ?? 0;
  };
  const timer =
    options.retentionDays > 0
      ? setInterval(() => {
          prune().then(
            (deleted) => {
              if (deleted > 0) log.info({ deleted }, "pruned the connection audit");
            },
            (err: unknown) =>
              log.warn({ err: { message: (err as Error).message } }, "audit prune failed"),
          );
        }, options.intervalMs ?? 3_600_000)
      : undefined;
  timer?.unref();
  return { prune, stop: () => clearInterval(timer) };
}
