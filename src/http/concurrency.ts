/**
 * A per-node cap on work that holds a lot of memory while it runs (a history page is up to
 * HISTORY_PAGE_MAX_BYTES of rows, then as much again as JSON): `limit` run at once, as many more
 * wait their turn, and the rest are refused at once with a retryable UNAVAILABLE, which tells a
 * well-behaved client to come back shortly, rather than queueing without bound.
 */
import { GatewayError } from "../protocol/index.js";

export class ConcurrencyGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly queue: number = limit,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.queue) {
        throw new GatewayError("UNAVAILABLE", "Too many history reads on this node; retry shortly");
      }
      // The slot is handed over by the finishing run, so `running` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
