/**
 * `setTyping`'s throttle. A server-side `start` lasts 6 s unless refreshed (PROTOCOL.md
 * `typing`), so while typing goes on a `start` every 3 s keeps the indicator up without one event
 * per keystroke; a `stop` goes out only when a `start` did. Typing is best effort: a failed or
 * skipped send is not retried, the server's timeout ends what a lost `stop` would have.
 */

/** Least time between two `start`s of one session while typing goes on. */
export const TYPING_REFRESH_MS = 3_000;

export interface TypingOptions {
  /** Sends `typing` once; the result is ignored. */
  send(sessionId: string, state: "start" | "stop"): void;
  now?: () => number;
  refreshMs?: number;
}

export class TypingThrottle {
  /** When the last `start` went out, per session with one outstanding. */
  private readonly started = new Map<string, number>();
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(private readonly options: TypingOptions) {
    this.now = options.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? TYPING_REFRESH_MS;
  }

  set(sessionId: string, typing: boolean): void {
    const last = this.started.get(sessionId);
    if (!typing) {
      if (last === undefined) return;
      this.started.delete(sessionId);
      this.options.send(sessionId, "stop");
      return;
    }
    const now = this.now();
    if (last !== undefined && now - last < this.refreshMs) return;
    this.started.set(sessionId, now);
    this.options.send(sessionId, "start");
  }

  /** The server ended it (a message sent, a disconnect): the next keystroke starts afresh. */
  forget(sessionId?: string): void {
    if (sessionId === undefined) this.started.clear();
    else this.started.delete(sessionId);
  }
}
