/**
 * Fake gateway nodes for the cluster unit tests: a real cluster fan-out whose "sockets" are a
 * log of what it delivered, connected to the others through an in-memory network.
 */
import type { StoredMessage } from "../protocol/index.js";
import type { FanoutBatch } from "./bus.js";
import { createFanout, type Fanout } from "./fanout.js";
import type { MemoryNetwork } from "./memory-bus.js";

export interface FakeNode {
  fanout: Fanout;
  /** Every batch handed to this node's sockets, with the socket left out, in order. */
  log: Array<{ batch: FanoutBatch; except: string | undefined }>;
  /** Seqs of a session's messages this node's sockets got, in delivery order. */
  seqs(sessionId: string): number[];
  /** Heads this node's sockets got, as `sessionId:seq`. */
  heads(): string[];
  /** Resolves once the predicate holds (checked after every delivery). */
  until(predicate: () => boolean): Promise<void>;
}

export function fakeNode(network: MemoryNetwork): FakeNode {
  const log: FakeNode["log"] = [];
  const waiters: Array<{ predicate: () => boolean; resolve: () => void }> = [];
  const fanout = createFanout({
    bus: network.bus(),
    deliver(batch, except) {
      log.push({ batch, except });
      for (const waiter of [...waiters]) {
        if (!waiter.predicate()) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    onBadBatch: (err) => {
      throw err;
    },
  });
  return {
    fanout,
    log,
    seqs: (sessionId) =>
      log.flatMap(({ batch }) =>
        (batch.messages ?? []).filter((m) => m.sessionId === sessionId).map((m) => m.seq),
      ),
    heads: () =>
      log.flatMap(({ batch }) => (batch.heads ?? []).map((h) => `${h.sessionId}:${h.seq}`)),
    until(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

export function message(sessionId: string, seq: number, content = "hi"): StoredMessage {
  return {
    id: `${sessionId}-${seq}`,
    sessionId,
    seq,
    content,
    type: "text",
    senderId: "bot",
    senderName: "bot",
    senderKind: "agent",
    createdAt: 1,
    timestamp: 1,
    status: "sent",
  };
}

/** The next turn of the event loop, after the fan-out's per-tick flush. */
export const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));
