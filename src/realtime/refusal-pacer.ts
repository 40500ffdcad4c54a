/**
 * Answers a socket's `RATE_LIMITED` refusals once the bucket would have a token again (at most a
 * second later) instead of at once. A client that resends the moment it is refused is then paced
 * to the limit rather than spinning, and each spin was a round trip of server work that delayed
 * everyone else's acks. Only `maxHeld` refusals wait at a time per socket; past that (a client
 * that does not wait for its acks) they are answered at once, so the held callbacks stay few.
 */
import type { AckError } from "../protocol/index.js";
import { refuse } from "./ack.js";

const MAX_DELAY_MS = 1_000;

export class RefusalPacer {
  private held = 0;

  constructor(private readonly maxHeld = 8) {}

  refuse(args: unknown[], error: AckError, delayMs: number): void {
    const ack = args.at(-1);
    if (typeof ack !== "function") return;
    if (delayMs <= 0 || this.held >= this.maxHeld) {
      refuse([ack], error);
      return;
    }
    this.held++;
    // Only the callback is kept, not the payload. After a disconnect the late ack goes nowhere.
    setTimeout(
      () => {
        this.held--;
        refuse([ack], error);
      },
      Math.min(delayMs, MAX_DELAY_MS),
    );
  }
}
