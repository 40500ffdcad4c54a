/**
 * Fan-out of committed changes, whatever carries them. This node's sockets get each change at
 * once (`deliver`, a local emit, no database round trip); other nodes get them in batches, one
 * publish per tick, which is one NOTIFY for many messages instead of the adapter's one NOTIFY
 * per namespace per message. The table stays the truth: a lost batch is healed by
 * `session:head` and `sync`.
 */
import type {
  ContextUpdateEvent,
  MembershipChange,
  ReceiptEvent,
  SessionHead,
  StoredMessage,
  StreamRelay,
  TypingEvent,
} from "../protocol/index.js";
import type { ClusterBus, FanoutBatch } from "./bus.js";
import { createHeadTracker, type HeadTracker } from "./heads.js";
import type { PresenceWire } from "./presence.js";

/** Batches stay under the adapter's NOTIFY threshold when they can (large ones use attachments). */
const BATCH_BYTES = 6_000;
/** Batches waiting behind the one in flight, at most. */
const MAX_READY = 1_000;
/** How long one publish may hold up the next. */
const PUBLISH_WAIT_MS = 2_000;

export interface Fanout {
  message(message: StoredMessage, exceptSocketId?: string): void;
  context(update: ContextUpdateEvent, exceptSocketId?: string): void;
  /** Announces a head to local sockets and, unless `localOnly`, to other nodes. */
  head(head: SessionHead, options?: { localOnly?: boolean }): void;
  /** A typing indicator: local sockets at once, other nodes only while the bus keeps up. */
  typing(event: TypingEvent, exceptSocketId?: string): void;
  /** A member added or removed, to this node's sockets and the other nodes'. */
  membership(change: MembershipChange): void;
  /**
   * Stream events: local sockets at once, other nodes in order like messages (unlike typing,
   * never dropped: a lost delta would leave a gap in every receiver's text).
   */
  stream(relays: StreamRelay[], exceptSocketId?: string): void;
  /** A presence item for the other nodes only: this node's sockets learn of it from the mesh. */
  presence(item: PresenceWire): void;
  /** A member's receipt watermarks moved, to this node's sockets and the other nodes'. */
  receipt(event: ReceiptEvent): void;
  /** What this node's sockets have been given, for the positioning pass and receipt checks. */
  readonly heads: Pick<HeadTracker, "behind" | "retain" | "highest" | "seen">;
}

export interface FanoutOptions {
  bus: ClusterBus;
  /** Hands a batch to this node's sockets (all of them but `exceptSocketId`, when given). */
  deliver(batch: FanoutBatch, exceptSocketId?: string): void;
  /** A batch from another node could not be delivered. */
  onBadBatch?(err: unknown): void;
  /** How long one publish may hold up the next, in ms. Default 2,000. */
  publishWaitMs?: number;
}

export function createFanout(options: FanoutOptions): Fanout {
  const { bus } = options;
  const heads = createHeadTracker();
  /** Batches ready for other nodes, oldest first; `pending` is the one still filling. */
  const ready: FanoutBatch[] = [];
  let pending:
    | {
        messages: StoredMessage[];
        contexts: ContextUpdateEvent[];
        heads: SessionHead[];
        typing: TypingEvent[];
        members: MembershipChange[];
        streams: StreamRelay[];
        presence: PresenceWire[];
        receipts: ReceiptEvent[];
      }
    | undefined;
  let pendingBytes = 0;
  let sending = false;
  const publishWaitMs = options.publishWaitMs ?? PUBLISH_WAIT_MS;

  function deliverLocally(batch: FanoutBatch, exceptSocketId?: string) {
    for (const message of batch.messages ?? []) heads.delivered(message.sessionId, message.seq);
    for (const head of batch.heads ?? []) heads.announced(head.sessionId, head.seq);
    options.deliver(batch, exceptSocketId);
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
      if (batch.typing.length) out.typing = batch.typing;
      if (batch.members.length) out.members = batch.members;
      if (batch.streams.length) out.streams = batch.streams;
      if (batch.presence.length) out.presence = batch.presence;
      if (batch.receipts.length) out.receipts = batch.receipts;
      ready.push(out);
      // A stuck bus must not hold memory without bound: the oldest go, heads heal them.
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
        let timer: NodeJS.Timeout | undefined;
        // The bus reports publish failures itself (the adapter's errorHandler logs and counts
        // them); a publish that hangs (database gone) stops holding up the rest after a while.
        await Promise.race([
          bus.publish(batch).catch(() => {}),
          new Promise((resolve) => {
            timer = setTimeout(resolve, publishWaitMs);
          }),
        ]);
        clearTimeout(timer);
      }
    } finally {
      sending = false;
    }
  }

  function enqueue(
    kind:
      | "messages"
      | "contexts"
      | "heads"
      | "typing"
      | "members"
      | "streams"
      | "presence"
      | "receipts",
    item:
      | StoredMessage
      | ContextUpdateEvent
      | SessionHead
      | TypingEvent
      | MembershipChange
      | StreamRelay
      | PresenceWire
      | ReceiptEvent,
  ) {
    const size = JSON.stringify(item).length;
    if (pending && pendingBytes + size > BATCH_BYTES) flush();
    if (!pending) {
      pending = {
        messages: [],
        contexts: [],
        heads: [],
        typing: [],
        members: [],
        streams: [],
        presence: [],
        receipts: [],
      };
      setImmediate(flush);
    }
    (pending[kind] as unknown[]).push(item);
    pendingBytes += size;
  }

  bus.subscribe?.((batch) => {
    try {
      deliverLocally(batch);
    } catch (err) {
      options.onBadBatch?.(err);
    }
  });

  return {
    heads,
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
    typing(event, exceptSocketId) {
      deliverLocally({ typing: [event] }, exceptSocketId);
      // A backlog means the bus is slow or down: typing would only add to what messages wait
      // behind, and is stale by the time it arrives.
      if (ready.length === 0) enqueue("typing", event);
    },
    membership(change) {
      deliverLocally({ members: [change] });
      enqueue("members", change);
    },
    stream(relays, exceptSocketId) {
      deliverLocally({ streams: relays }, exceptSocketId);
      for (const relay of relays) enqueue("streams", relay);
    },
    presence(item) {
      enqueue("presence", item);
    },
    receipt(event) {
      deliverLocally({ receipts: [event] });
      enqueue("receipts", event);
    },
  };
}
