/**
 * A `Publisher` for processes without a Socket.IO server (serverless and edge functions, scripts):
 * it speaks the postgres adapter's protocol (cluster/notify.ts) on an ordinary pool, so the gateway
 * nodes treat what it sends exactly like a batch from another node. Messages, contexts and heads
 * go out as the `tkr:fanout` server-side emit that every node's fan-out already handles; a member
 * removal is the adapter's own `socketsLeave`.
 *
 * Each change is one publish attempt. A failure is counted and logged and never retried: the row
 * is committed whatever happens here, and sockets heal from the table (`session:head`, `sync`).
 * Nothing here loops, whatever the database does.
 */
import type { Logger } from "pino";
import { createNotifyBus, type Encode, type Queryable } from "../cluster/notify.js";
import { principalRoom, sessionRoom } from "../cluster/rooms.js";
import { socketsLeave } from "../cluster/wire.js";
import type { Publisher } from "../messaging/index.js";
import type {
  ContextUpdateEvent,
  MembershipChange,
  ReceiptEvent,
  SessionHead,
  StoredMessage,
  StreamRelay,
} from "../protocol/index.js";
import { NAMESPACES } from "../protocol/index.js";

export type { Encode, Queryable };

export interface ClusterPublisherOptions {
  pool: Queryable;
  logger?: Logger;
  /**
   * Payloads longer than this many bytes go through `socket_io_attachments`. Default 7,000, as
   * on the nodes: NOTIFY refuses 8,000 bytes and more, and adapter 0.5.0 is off by one there.
   */
  payloadThreshold?: number;
  /** The adapter's channel prefix. Default `socket.io`. */
  channelPrefix?: string;
  /**
   * msgpack encoder for attachments. Default: `@msgpack/msgpack` (the adapter's own dependency)
   * when it can be imported. Without one, a message too large for a NOTIFY is announced as a
   * `session:head` instead, and sockets fetch it with `sync`.
   */
  encode?: Encode | null;
  /** Called once per failed publish (after it is logged), e.g. to count it in metrics. */
  onFailure?: (err: unknown) => void;
}

export interface ClusterPublisher extends Publisher {
  /** Resolves when every publish started so far has finished (sent or failed). */
  idle(): Promise<void>;
  /** Publishes attempted, failed, and how many NOTIFYs they sent, since the start. */
  readonly stats: { published: number; failed: number; notifies: number };
}

let defaultEncoder: Promise<Encode | null> | undefined;
function loadDefaultEncoder(): Promise<Encode | null> {
  defaultEncoder ??= import("@msgpack/msgpack")
    .then((mod) => {
      const m = mod as { encode?: Encode; default?: { encode?: Encode } };
      return m.encode ?? m.default?.encode ?? null;
    })
    .catch(() => null);
  return defaultEncoder;
}

export function createClusterPublisher(options: ClusterPublisherOptions): ClusterPublisher {
  const { logger } = options;
  const inflight = new Set<Promise<void>>();
  const stats = { published: 0, failed: 0, notifies: 0 };
  const bus = createNotifyBus({
    pool: options.pool,
    ...(options.payloadThreshold !== undefined
      ? { payloadThreshold: options.payloadThreshold }
      : {}),
    ...(options.channelPrefix !== undefined ? { channelPrefix: options.channelPrefix } : {}),
    encoder: () =>
      options.encode !== undefined ? Promise.resolve(options.encode) : loadDefaultEncoder(),
    onNotify: () => {
      stats.notifies++;
    },
  });

  function track(what: string, run: () => Promise<void>): Promise<void> {
    stats.published++;
    const pending = run().catch((err: unknown) => {
      stats.failed++;
      logger?.warn(
        {
          err: { message: (err as Error)?.message, code: (err as { code?: unknown })?.code },
          what,
        },
        "cluster publish failed; sockets will catch up from session:head",
      );
      options.onFailure?.(err);
    });
    inflight.add(pending);
    void pending.finally(() => inflight.delete(pending));
    return pending;
  }

  const fanout = bus.publish;

  return {
    stats,
    // No socket runs in this process, so there is never a sending socket to leave out.
    message: (message: StoredMessage) =>
      track("message", async () => {
        if (await fanout({ messages: [message] })) return;
        const head: SessionHead = { sessionId: message.sessionId, seq: message.seq };
        logger?.info({ seq: message.seq }, "message too large to publish; announcing its head");
        await fanout({ heads: [head] });
      }),
    context: (update: ContextUpdateEvent) =>
      track("context", async () => {
        if (!(await fanout({ contexts: [update] })))
          throw new Error("context update too large to publish without an attachment encoder");
      }),
    head: (head: SessionHead) =>
      track("head", async () => {
        await fanout({ heads: [head] });
      }),
    membership: (change: MembershipChange) =>
      track("membership", async () => {
        if (!(await fanout({ members: [change] })))
          throw new Error("membership change too large to publish without an attachment encoder");
      }),
    receipt: (event: ReceiptEvent) =>
      track("receipt", async () => {
        await fanout({ receipts: [event] });
      }),
    // One publish per call, so a call's deltas reach the nodes in one batch, in order.
    stream: (relays: StreamRelay[]) =>
      track("stream", async () => {
        if (!(await fanout({ streams: relays })))
          throw new Error("stream events too large to publish without an attachment encoder");
      }),
    memberRemoved: (sessionId: string, principalId: string) =>
      track("memberRemoved", async () => {
        for (const nsp of Object.keys(NAMESPACES)) {
          await bus.send(socketsLeave(nsp, principalRoom(principalId), sessionRoom(sessionId)));
        }
      }),
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
