/**
 * One socket's history reads (`sync`, `join_session` with `lastSeq`), one at a time. A reader
 * pages one page after another anyway; what this stops is a client that fires many at once and
 * does not read the answers: each would hold a page in memory at the same time, and those still
 * queued when the socket is dropped are skipped instead of read for nobody.
 */
import { GatewayError } from "../protocol/index.js";

export class ReadQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly connected: () => boolean) {}

  run<T>(read: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(() => {
      if (!this.connected()) throw new GatewayError("UNAVAILABLE", "The socket is disconnected");
      return read();
    });
    this.tail = turn.catch(() => {});
    return turn;
  }
}
