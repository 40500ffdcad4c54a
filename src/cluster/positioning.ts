/**
 * Tells joined sockets the newest seq of their sessions when live fan-out may have lost
 * something: at once when the cluster listener comes back (NOTIFYs sent meanwhile are gone),
 * and in a periodic pass for losses nobody noticed (a node that died between commit and
 * broadcast). The pass reads only the sessions that have sockets on this node and announces
 * only where the table is ahead of what this node has delivered without a gap.
 */
import type { SessionHead } from "../protocol/index.js";
import type { Fanout } from "./fanout.js";

export interface Positioning {
  /** Reads heads now and announces those ahead of what was delivered (or all, `everything`). */
  run(everything?: boolean): Promise<void>;
  stop(): void;
}

export interface PositioningOptions {
  fanout: Pick<Fanout, "head" | "heads">;
  /** Sessions that have a socket on this node. */
  localSessions(): string[];
  /** The table's head of each of these sessions (unknown ones left out). */
  readHeads(sessionIds: string[]): Promise<SessionHead[]>;
  onError(err: unknown): void;
  /** Milliseconds between passes. Default 5,000, so a loss is noticed within 15 s. */
  intervalMs?: number;
}

export function createPositioning(options: PositioningOptions): Positioning {
  const { fanout } = options;
  let running: Promise<void> | undefined;
  // A pass asked for while one runs must still happen after it: the running one may have read
  // the heads before the loss that the new request is about (a listener that just came back).
  let queued: Promise<void> | undefined;
  let queuedEverything = false;
  async function pass(everything: boolean) {
    const sessions = options.localSessions();
    fanout.heads.retain(sessions);
    if (sessions.length === 0) return;
    for (const head of await options.readHeads(sessions)) {
      if (!everything && !fanout.heads.behind(head.sessionId, head.seq)) continue;
      // Local only: every node runs its own pass for its own sockets.
      fanout.head(head, { localOnly: true });
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
      .catch((err: unknown) => options.onError(err))
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
