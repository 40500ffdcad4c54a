import type {
  ContextUpdateEvent,
  MembershipChange,
  PrincipalKind,
  ReceiptEvent,
  SessionHead,
  StoredMessage,
  StreamRelay,
} from "../protocol/index.js";

/** Who is calling: the verified token's claims. */
export interface Principal {
  id: string;
  kind: PrincipalKind;
  name?: string;
}

/**
 * Where committed changes go next. The realtime server broadcasts through Socket.IO (and the
 * cluster adapter); a serverless HTTP app publishes through the cluster without a server; tests
 * and tools may use `noopPublisher`. Publishing is best effort: the table is the truth.
 */
export interface Publisher {
  /** A committed message, to room `session_<id>` in both namespaces except `exceptSocketId`. */
  message(message: StoredMessage, exceptSocketId?: string): void | Promise<void>;
  /** A committed context update, to the session's room except `exceptSocketId`. */
  context(update: ContextUpdateEvent, exceptSocketId?: string): void | Promise<void>;
  /** The newest seq of a session, for sockets to notice what live fan-out lost. */
  head?(head: SessionHead): void | Promise<void>;
  /** A member was removed: their sockets leave the session's room on every node. */
  memberRemoved(sessionId: string, principalId: string): void | Promise<void>;
  /**
   * A member was added or removed: `member:*` to the session's room, `session:*` to that
   * principal's own sockets, on every node. Optional: publishers that predate it stay valid.
   */
  membership?(change: MembershipChange): void | Promise<void>;
  /**
   * A stream's events, in order, to the session's sockets on every node except
   * `exceptSocketId`. Optional: publishers that predate streams stay valid (they relay none).
   */
  stream?(relays: StreamRelay[], exceptSocketId?: string): void | Promise<void>;
  /** A member's receipt watermarks moved: `receipt` to the session's room on every node. */
  receipt?(event: ReceiptEvent): void | Promise<void>;
}

export const noopPublisher: Publisher = {
  message() {},
  context() {},
  memberRemoved() {},
};
