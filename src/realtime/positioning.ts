/**
 * The head positioning pass for this node's sockets: its sessions are the `session_` rooms of
 * its namespaces, and their heads are read from the table in one query per 1,000 sessions.
 */
import type pg from "pg";
import type { Fanout } from "../cluster/fanout.js";
import { createPositioning as createPass, type Positioning } from "../cluster/positioning.js";
import { sessionOfRoom } from "../cluster/rooms.js";
import type { Logger } from "../observability/logger.js";
import type { SessionHead } from "../protocol/index.js";
import type { GatewayNamespace } from "./types.js";

const CHUNK = 1_000;

export type { Positioning };

export function createPositioning(options: {
  pool: pg.Pool;
  namespaces: GatewayNamespace[];
  fanout: Fanout;
  logger: Logger;
  /** Milliseconds between passes. Default 5,000, so a loss is noticed within 15 s. */
  intervalMs?: number;
}): Positioning {
  const { pool, namespaces, logger } = options;
  return createPass({
    fanout: options.fanout,
    localSessions() {
      const ids = new Set<string>();
      for (const nsp of namespaces) {
        for (const room of nsp.adapter.rooms.keys()) {
          const id = sessionOfRoom(room);
          if (id !== undefined) ids.add(id);
        }
      }
      return [...ids];
    },
    async readHeads(sessionIds) {
      const heads: SessionHead[] = [];
      for (let i = 0; i < sessionIds.length; i += CHUNK) {
        const result = await pool.query<{ id: string; last_seq: number }>(
          "select id, last_seq from sessions where id = any($1::text[])",
          [sessionIds.slice(i, i + CHUNK)],
        );
        for (const row of result.rows) heads.push({ sessionId: row.id, seq: row.last_seq });
      }
      return heads;
    },
    onError: (err) =>
      logger.warn({ err: { message: (err as Error).message } }, "positioning pass failed"),
    ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
  });
}
