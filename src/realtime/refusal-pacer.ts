/**
 * Answers a socket's `RATE_LIMITED` refusals once the bucket would have a token again (at most a
 * second later) instead of at once. A client that resends the moment it is refused is then paced
 * to the limit rather than spinning, and each spin was a round trip of server work that delayed
 * everyone else's acks. Only `MAX_HELD` refusals wait at a time per socket; past that (a client
 * that does not wait for its acks) they are answered at once, so the held callbacks stay few.
 * The count lives on `socket.data`, so a socket that is never refused carries nothing.
 */
import type { AckError } from "../protocol/index.js";
import { refuse } from "./ack.js";
import type { SocketData } from "./types.js";

const MAX_DELAY_MS = 1_000;
export const MAX_HELD = 8;

export function paceRefusal(
  data: SocketData,
  args: unknown[],
  error: AckError,
  delayMs: number,
): void {
  const ack = args.at(-1);
  if (typeof ack !== "function") return;
  const held = data.heldRefusals ?? 0;
  if (delayMs <= 0 || held >= MAX_HELD) {
    refuse([ack], error);
    return;
  }
  data.heldRefusals = held + 1;
  // Only the callback is kept, not the payload. After a disconnect the late ack goes nowhere.
  setTimeout(
    () => {
      data.heldRefusals = (data.heldRefusals ?? 1) - 1;
      refuse([ack], error);
    },
    Math.min(delayMs, MAX_DELAY_MS),
  ).unref();
}
