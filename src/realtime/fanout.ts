/**
 * Fan-out of committed changes. This node's sockets get each change at once (a local emit, no
 * database round trip); other nodes get them in batches through one `serverSideEmit` per tick,
 * which is one NOTIFY for many messages instead of the adapter's one NOTIFY per namespace per
 * message. The table stays the truth: a lost batch is healed by `session:head` and `sync`.
 */
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import {
  type ContextUpdateEvent,
  type SessionHead,
  type StoredMessage,
  sessionRoom,
} from "../protocol/index.js";
import type { GatewayNamespace, GatewayServer } from "./types.js";

export const FANOUT_EVENT = "tkr:fanout";

/** One inter-node batch. */
export interface FanoutBatch {
  messages?: StoredMessage[];
  contexts?: ContextUpdateEvent[];
  heads?: SessionHead[];
}

/** Batches stay under the adapter's NOTIFY threshold when they can (large ones use attachments). */
const BATCH_BYTES = 6_000;

export interface Fanout {
  message(message: StoredMessage, exceptSocketId?: string): void;
  context(update: ContextUpdateEvent, exceptSocketId?: string): void;
  /** Announces a head to local sockets and, unless `localOnly`, to other nodes. */
  head(head: SessionHead, options?: { localOnly?: boolean }): void;
  /**
   * Per session, the highest seq up to which this node has delivered every message or announced
   * a head (for the positioning pass). It stops at the first hole, so a message whose batch was
   * lost is still announced when later ones arrive live.
   */
  known: Map<string, number>;
}

export function createFanout(
  io: GatewayServer,
  namespaces: GatewayNamespace[],
  metrics: Metrics,
  logger: Logger,
): Fanout {
  const known = new Map<string, number>();
  let pending:
    | { messages: StoredMessage[]; contexts: ContextUpdateEvent[]; heads: SessionHead[] }
    | undefined;
  let pendingBytes = 0;

  const note = (sessionId: string, seq: number, announced = false) => {
    const current = known.get(sessionId) ?? 0;
    // A message past a hole leaves `known` where it is: the next positioning pass then
    // announces the head (at worst once per pass when live delivery was merely out of order).
    if (announced ? seq > current : seq === current + 1) known.set(sessionId, seq);
  };

  /** This node's sockets in a session's room, except the sending socket when there is one. */
  const localRoom = (nsp: GatewayNamespace, sessionId: string, exceptSocketId?: string) => {
    const target = nsp.local.to(sessionRoom(sessionId));
    return exceptSocketId ? target.except(exceptSocketId) : target;
  };

  function deliverLocally(batch: FanoutBatch, exceptSocketId?: string) {
    for (const message of batch.messages ?? []) {
      note(message.sessionId, message.seq);
      for (const nsp of namespaces) {
        localRoom(nsp, message.sessionId, exceptSocketId).emit("message", message);
        metrics.messagesOut.inc({ namespace: nsp.name });
      }
      metrics.socket.messages_sent++;
    }
    for (const update of batch.contexts ?? []) {
      for (const nsp of namespaces) {
        localRoom(nsp, update.sessionId, exceptSocketId).emit("context:update", update);
      }
    }
    for (const head of batch.heads ?? []) {
      note(head.sessionId, head.seq, true);
      for (const nsp of namespaces) localRoom(nsp, head.sessionId).emit("session:head", head);
    }
  }

  function flush() {
    const batch = pending;
    pending = undefined;
    pendingBytes = 0;
    if (!batch) return;
    const out: FanoutBatch = {};
    if (batch.messages.length) out.messages = batch.messages;
    if (batch.contexts.length) out.contexts = batch.contexts;
    if (batch.heads.length) out.heads = batch.heads;
    // The adapter reports publish failures to its errorHandler (logged and counted there).
    io.serverSideEmit(FANOUT_EVENT, out);
  }

  function enqueue(
    kind: "messages" | "contexts" | "heads",
    item: StoredMessage | ContextUpdateEvent | SessionHead,
  ) {
    const size = JSON.stringify(item).length;
    if (pending && pendingBytes + size > BATCH_BYTES) flush();
    if (!pending) {
      pending = { messages: [], contexts: [], heads: [] };
      setImmediate(flush);
    }
    (pending[kind] as unknown[]).push(item);
    pendingBytes += size;
  }

  io.on(FANOUT_EVENT, (batch) => {
    try {
      deliverLocally(batch);
    } catch (err) {
      logger.warn({ err }, "bad fan-out batch from another node");
    }
  });

  return {
    known,
    message(message, exceptSocketId) {
      deliverLocally({ messages: [message] }, exceptSocketId);
      enqueue("messages", message);
    },
    context(update, exceptSocketId) {
      deliverLocally({ contexts: [update] }, exceptSocketId);
      enqueue("contexts", update);
    },
    head(head, options) {
      deliverLocally({ heads: [head] });
      if (!options?.localOnly) enqueue("heads", head);
    },
  };
}
