/**
 * Calls that wait for an ack, each with its own timeout. socket.io-client drops plain ack
 * callbacks silently when the connection goes, so every call is tracked here and rejected with a
 * GatewayNetworkError on disconnect: a caller always gets an answer, and knows which kind.
 */
import type { Ack, ClientEventName, EventResults } from "../protocol/events.js";
import { fromAck, GatewayError, GatewayTimeoutError } from "./errors.js";

/** The one socket method used. */
export interface Emitting {
  emit(event: string, payload: unknown, ack: (response: never) => void): unknown;
}

interface Pending {
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Calls {
  private readonly pending = new Set<Pending>();

  /** Emits `event` on `socket` (which must be connected) and settles with its ack. */
  send<E extends ClientEventName>(
    socket: Emitting,
    event: E,
    payload: unknown,
    timeoutMs: number,
  ): Promise<EventResults[E]> {
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        reject,
        timer: setTimeout(() => {
          this.pending.delete(entry);
          reject(new GatewayTimeoutError(event, timeoutMs));
        }, timeoutMs),
      };
      this.pending.add(entry);
      socket.emit(event, payload, (ack: Ack<EventResults[E]>) => {
        // Too late: the call already timed out or the connection it went out on is gone.
        if (!this.pending.delete(entry)) return;
        clearTimeout(entry.timer);
        if (ack?.status === "success") {
          const { status: _status, ...result } = ack;
          resolve(result as unknown as EventResults[E]);
        } else if (ack?.status === "error") {
          reject(fromAck(ack));
        } else {
          reject(new GatewayError("INTERNAL", `Malformed ack for ${event}`));
        }
      });
    });
  }

  /** Rejects every call still waiting (the connection dropped, or the client stops). */
  rejectAll(error: unknown): void {
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }
}
