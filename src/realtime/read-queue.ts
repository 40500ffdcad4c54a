/**
 * One socket's history reads (`sync`, `join_session` with `lastSeq`), one at a time. A reader
 * pages one page after another anyway; what this stops is a client that fires many at once and
 * does not read the answers: each would hold a page in memory at the same time, and those still
 * queued when the socket is dropped are skipped instead of read for nobody. The queue is the
 * last read's promise on `socket.data`, there only while a read is queued or running.
 */
import { GatewayError } from "../protocol/index.js";
import type { GatewaySocket } from "./types.js";

export function queueRead<T>(socket: GatewaySocket, read: () => Promise<T>): Promise<T> {
  const data = socket.data;
  const turn = (data.reads ?? Promise.resolve()).then(() => {
    if (!socket.connected) throw new GatewayError("UNAVAILABLE", "The socket is disconnected");
    return read();
  });
  const tail: Promise<void> = turn.then(done, done);
  data.reads = tail;
  function done(): void {
    if (data.reads === tail) data.reads = undefined;
  }
  return turn;
}
