/**
 * Exponential backoff with jitter, the formula socket.io-client uses for its own reconnects, so
 * the SDK's extra waits (after a refused handshake, a retryable error ack) spread the same way.
 */
export interface BackoffOptions {
  /** First delay in ms. */
  minMs: number;
  /** Largest delay in ms. */
  maxMs: number;
  /** 0..1: each delay is moved by up to this fraction either way, so clients spread out. */
  jitter: number;
}

export class Backoff {
  private attempts = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay; each call doubles the base, up to `maxMs`. */
  next(): number {
    const { minMs, maxMs, jitter } = this.options;
    const base = Math.min(maxMs, minMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    const spread = base * Math.min(Math.max(jitter, 0), 1);
    const delay = base - spread + 2 * spread * this.random();
    return Math.round(Math.min(maxMs, Math.max(0, delay)));
  }

  /** How many delays were handed out since the last reset. */
  get count(): number {
    return this.attempts;
  }

  reset(): void {
    this.attempts = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks why it woke). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
