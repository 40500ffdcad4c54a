/**
 * Tells joined sockets the newest seq of their sessions when live fan-out may have lost
 * something: at once when the cluster listener comes back (NOTIFYs sent meanwhile are gone),
 * and in a periodic pass for losses nobody noticed (a node that died between commit and
 * broadcast). The pass reads only the sessions that have sockets on this node, in one query per
 * 1,000 sessions, and emits only where the table is ahead of what this node has delivered.
 */
import type pg from "pg";
import type { Logger } from "../observability/logger.js";
import type { Fanout } from "./fanout.js";
import type { GatewayNamespace } from "./types.js";

const ROOM_PREFIX = "session_";
const CHUNK = 1_000;

export interface Positioning {
  /** Reads heads now and announces those ahead of `known` (or all, with `everything`). */
  run(everything?: boolean): Promise<void>;
  stop(): void;
}

export function createPositioning(options: {
  pool: pg.Pool;
  namespaces: GatewayNamespace[];
  fanout: Fanout;
  logger: Logger;
  /** Milliseconds between passes. Default 5,000, so a loss is noticed within 15 s. */
  intervalMs?: number;
}): Positioning {
  const { pool, namespaces, fanout, logger } = options;

  function localSessions(): string[] {
    const ids = new Set<string>();
    for (const nsp of namespaces) {
      for (const room of nsp.adapter.rooms.keys()) {
        if (room.startsWith(ROOM_PREFIX)) ids.add(room.slice(ROOM_PREFIX.length));
      }
    }
    return [...ids];
  }

  let running: Promise<void> | undefined;
  // A pass asked for while one runs must still happen after it: the running one may have read
  // the heads before the loss that the new request is about (a listener that just came back).
  let queued: Promise<void> | undefined;
  let queuedEverything = false;
  async function pass(everything: boolean) {
    const sessions = localSessions();
    const local = new Set(sessions);
    for (const id of fanout.known.keys()) if (!local.has(id)) fanout.known.delete(id);
    for (let i = 0; i < sessions.length; i += CHUNK) {
      const chunk = sessions.slice(i, i + CHUNK);
      const result = await pool.query<{ id: string; last_seq: number }>(
        "select id, last_seq from sessions where id = any($1::text[])",
        [chunk],
      );
      for (const row of result.rows) {
        if (!everything && row.last_seq <= (fanout.known.get(row.id) ?? 0)) continue;
        // Local only: every node runs its own pass for its own sockets.
        fanout.head({ sessionId: row.id, seq: row.last_seq }, { localOnly: true });
      }
    }
  }

  let stopped = false;
  function run(everything = false): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) {
      queuedEverything ||= everything;
      queued ??= running.then(() => {
        queued = undefined;
        const all = queuedEverything;
        queuedEverything = false;
        return run(all);
      });
      return queued;
    }
    running = pass(everything)
      .catch((err: unknown) =>
        logger.warn({ err: { message: (err as Error).message } }, "positioning pass failed"),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const timer = setInterval(() => void run(), options.intervalMs ?? 5_000);
  timer.unref();
  return {
    run,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
