/**
 * Drains the outbox: sends each entry, waits for its ack, and resends with the same id until the
 * server gives a final answer. Resending is safe because the id is the server's idempotency key:
 * a second copy acks the original `seq` with `duplicate: true`, which counts as the success.
 *
 * - no connection: wait for the reconnect (socket.io-client's backoff paces it), then resend;
 * - no ack in time, or a retryable error ack (UNAVAILABLE, RATE_LIMITED, INTERNAL): wait with
 *   backoff and resend;
 * - any other error ack (`retryable: false`, e.g. INVALID_PAYLOAD): final; the entry leaves the
 *   outbox and its storage, its promise rejects, and the lane goes on with the next entry, so
 *   one refused message never blocks the ones queued behind it.
 *
 * With one lane (the default), an entry is not sent before the one ahead of it is acknowledged,
 * so `seq` follows the order of `send()` calls even across reconnects.
 */
import type { AppendResult } from "../protocol/schemas.js";
import { Backoff, sleep } from "./backoff.js";
import { ClientClosedError, GatewayNetworkError, isRetryable } from "./errors.js";
import type { Outbox } from "./outbox.js";
import type { OutboxEntry } from "./storage.js";

export interface SenderOptions {
  outbox: Outbox;
  whenConnected(): Promise<void>;
  sendOnce(entry: OutboxEntry): Promise<AppendResult>;
  /** Concurrent lanes; 1 keeps send order. */
  lanes: number;
  retry: { delayMs: number; maxDelayMs: number; jitter: number };
  onSent(entry: OutboxEntry, result: AppendResult): void;
  onFailed(entry: OutboxEntry, error: unknown): void;
  /** Before each backoff wait, with the error that caused it. */
  onRetry?(entry: OutboxEntry, error: unknown, delayMs: number): void;
}

export class Sender {
  private readonly abort = new AbortController();
  private started = false;

  constructor(private readonly options: SenderOptions) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.options.lanes; i++) void this.lane();
  }

  stop(): void {
    this.abort.abort();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async lane(): Promise<void> {
    while (!this.stopped) {
      const entry = this.options.outbox.takeNext();
      if (!entry) {
        await this.options.outbox.changed(this.abort.signal);
        continue;
      }
      await this.deliver(entry);
    }
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    const { outbox } = this.options;
    const { delayMs, maxDelayMs, jitter } = this.options.retry;
    const backoff = new Backoff({ minMs: delayMs, maxMs: maxDelayMs, jitter });
    while (!this.stopped) {
      try {
        await this.options.whenConnected();
      } catch {
        return; // closed or failed: the client rejects every waiting send
      }
      let result: AppendResult;
      try {
        result = await this.options.sendOnce(entry);
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof GatewayNetworkError) continue;
        if (error instanceof ClientClosedError) return;
        if (isRetryable(error)) {
          const delayMs = backoff.next();
          this.options.onRetry?.(entry, error, delayMs);
          await sleep(delayMs, this.abort.signal);
          continue;
        }
        outbox.fail(entry.id, error);
        this.options.onFailed(entry, error);
        return;
      }
      outbox.complete(entry.id, result);
      this.options.onSent(entry, result);
      return;
    }
  }
}
