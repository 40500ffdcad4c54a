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
/** Batches waiting behind the one in flight, at most. */
const MAX_READY = 1_000;
/** How long one publish may hold up the next. */
const PUBLISH_WAIT_MS = 2_000;
/** socket.io-adapter's `MessageType.SERVER_SIDE_EMIT` (what `io.serverSideEmit` publishes). */
const SERVER_SIDE_EMIT = 9;

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
  /** Batches ready for other nodes, oldest first; `pending` is the one still filling. */
  const ready: FanoutBatch[] = [];
  let pending:
    | { messages: StoredMessage[]; contexts: ContextUpdateEvent[]; heads: SessionHead[] }
    | undefined;
  let pendingBytes = 0;
  let sending = false;
  const adapter = io.of("/").adapter as unknown as {
    publishAndReturnOffset?: (message: unknown) => Promise<unknown>;
  };

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

  /** Closes the filling batch and starts sending if nothing is in flight. */
  function flush() {
    const batch = pending;
    pending = undefined;
    pendingBytes = 0;
    if (batch) {
      const out: FanoutBatch = {};
      if (batch.messages.length) out.messages = batch.messages;
      if (batch.contexts.length) out.contexts = batch.contexts;
      if (batch.heads.length) out.heads = batch.heads;
      ready.push(out);
      // A stuck adapter must not hold memory without bound: the oldest go, heads heal them.
      if (ready.length > MAX_READY) ready.splice(0, ready.length - MAX_READY);
    }
    if (!sending) void send();
  }

  /**
   * One batch on the wire at a time. The adapter sends each publish on whichever pooled
   * connection is free, so two in flight could commit their NOTIFYs in either order and another
   * node would see a session's messages out of seq order. Batches that pile up meanwhile leave
   * in order right after.
   */
  async function send() {
    sending = true;
    try {
      for (let batch = ready.shift(); batch; batch = ready.shift()) {
        if (!adapter.publishAndReturnOffset) {
          io.serverSideEmit(FANOUT_EVENT, batch);
          continue;
        }
        let timer: NodeJS.Timeout | undefined;
        // The adapter reports publish failures to its errorHandler (logged and counted there);
        // a publish that hangs (database gone) stops holding up the rest after a while.
        await Promise.race([
          adapter
            .publishAndReturnOffset({
              type: SERVER_SIDE_EMIT,
              data: { packet: [FANOUT_EVENT, batch] },
            })
            .catch(() => {}),
          new Promise((resolve) => {
            timer = setTimeout(resolve, PUBLISH_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
      }
    } finally {
      sending = false;
    }
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
