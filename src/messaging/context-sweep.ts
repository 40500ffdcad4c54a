/**
 * Deletes expired contexts (`ttlSeconds`, PROTOCOL.md section 4). Reads already leave them out
 * from the instant they expire, so the sweep is only about space: a bounded delete now and then,
 * found by the partial index on `expires_at`. Every node runs it; two at once delete disjoint or
 * already-deleted rows, which costs nothing.
 */
import type pg from "pg";
import type { Logger } from "../observability/logger.js";

export interface ContextSweepOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Milliseconds between passes (CONTEXT_SWEEP_INTERVAL_MS); 0: never. Default 60,000. */
  intervalMs?: number;
  /** Most rows one pass deletes, so a pass is one short statement. Default 10,000. */
  maxRows?: number;
}

export interface ContextSweep {
  /** One pass now; resolves to the number of contexts deleted (their history goes with them). */
  sweep(): Promise<number>;
  stop(): void;
}

const SWEEP = `
delete from contexts where (session_id, context_id) in (
  select session_id, context_id from contexts
  where expires_at is not null and expires_at <= now()
  limit $1)`;

export function createContextSweep(options: ContextSweepOptions): ContextSweep {
  const log = options.logger.child({ module: "context-sweep" });
  const maxRows = options.maxRows ?? 10_000;
  const intervalMs = options.intervalMs ?? 60_000;
  const sweep = async () => {
    const result = await options.pool.query(SWEEP, [maxRows]);
    return result.rowCount ?? 0;
  };
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          sweep().then(
            (deleted) => {
              if (deleted > 0) log.info({ deleted }, "deleted expired contexts");
            },
            (err: unknown) =>
              log.warn({ err: { message: (err as Error).message } }, "context sweep failed"),
          );
        }, intervalMs)
      : undefined;
  // Never what keeps the process alive.
  timer?.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
