/**
 * Socket.IO event maps (PROTOCOL.md sections 4 and 5), shared by the server and the SDK.
 */
import type { ErrorCode } from "./errors.js";
import type {
  AppendResult,
  Context,
  ContextUpdateEvent,
  ContextWriteResult,
  MemberReceipt,
  PresenceEntry,
  PresenceEvent,
  PrincipalKind,
  ReceiptEvent,
  ReceiptResult,
  Session,
  SessionHead,
  StoredMessage,
  TypingEvent,
} from "./schemas.js";
import type {
  OpenStream,
  StreamAbortEvent,
  StreamAbortResult,
  StreamDeltaEvent,
  StreamDeltaResult,
  StreamStartEvent,
  StreamStartResult,
} from "./streams.js";

/** `member:added` / `member:removed`: `kind` and `name` when the principal has been seen. */
export type MemberEvent = {
  sessionId: string;
  principalId: string;
  kind?: PrincipalKind;
  name?: string;
};
/** `session:added`, to the added principal's own sockets: the session as `GET /v1/sessions/:id`. */
export type SessionAddedEvent = { session: Session };
/** `session:removed`, to the removed principal's own sockets. */
export type SessionRemovedEvent = { sessionId: string };
/** One membership change as it travels to every node; `session` only when added. */
export type MembershipChange =
  | { change: "added"; member: MemberEvent; session: Session }
  | { change: "removed"; member: MemberEvent };

export type AckError = { status: "error"; code: ErrorCode; message: string; retryable: boolean };
export type AckSuccess<T> = { status: "success" } & T;
export type Ack<T> = AckSuccess<T> | AckError;
export type AckCallback<T> = (response: Ack<T>) => void;

export type JoinSessionResult = {
  sessionId: string;
  headSeq: number;
  messages?: StoredMessage[];
  hasMore?: boolean;
  /** The session's open streams with their text so far. */
  streams?: OpenStream[];
  /** Who is online in the session now, the joiner included. */
  presence: PresenceEntry[];
  /** Every member's watermarks, this node's unflushed receipts included. */
  receipts: MemberReceipt[];
};
export type LeaveSessionResult = { sessionId: string };
export type SyncResult = {
  sessionId: string;
  messages: StoredMessage[];
  headSeq: number;
  hasMore: boolean;
};
export type ContextGetResult = { contexts: Context[] };
export type PingResult = { serverTime: number };
export type TypingResult = { sessionId: string };

/** Results of each client-to-server event, by event name. */
export type EventResults = {
  join_session: JoinSessionResult;
  leave_session: LeaveSessionResult;
  message: AppendResult;
  sync: SyncResult;
  "context:update": ContextWriteResult;
  "context:get": ContextGetResult;
  ping: PingResult;
  typing: TypingResult;
  "stream:start": StreamStartResult;
  "stream:delta": StreamDeltaResult;
  "stream:end": AppendResult;
  "stream:abort": StreamAbortResult;
  receipt: ReceiptResult;
};

export type ClientEventName = keyof EventResults;

/** Payloads are `unknown` on the wire: the server validates every one with zod. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: unknown, ack?: AckCallback<EventResults[E]>) => void;
};

export type ServerToClientEvents = {
  message: (message: StoredMessage) => void;
  "context:update": (update: ContextUpdateEvent) => void;
  "session:head": (head: SessionHead) => void;
  typing: (event: TypingEvent) => void;
  "stream:start": (event: StreamStartEvent) => void;
  "stream:delta": (event: StreamDeltaEvent) => void;
  "stream:abort": (event: StreamAbortEvent) => void;
  presence: (event: PresenceEvent) => void;
  receipt: (event: ReceiptEvent) => void;
  "session:added": (event: SessionAddedEvent) => void;
  "session:removed": (event: SessionRemovedEvent) => void;
  "member:added": (event: MemberEvent) => void;
  "member:removed": (event: MemberEvent) => void;
  /** Sent just before the server ends a connection for a reason (e.g. AUTH_EXPIRED). */
  "gateway:error": (error: { code: ErrorCode; message: string; retryable: boolean }) => void;
};

export const CLIENT_EVENTS: readonly ClientEventName[] = [
  "join_session",
  "leave_session",
  "message",
  "sync",
  "context:update",
  "context:get",
  "ping",
  "typing",
  "stream:start",
  "stream:delta",
  "stream:end",
  "stream:abort",
  "receipt",
];

/** Socket.IO namespaces and the token kind each admits. */
export const NAMESPACES = { "/agents": "agent", "/clients": "user" } as const;
export type NamespaceName = keyof typeof NAMESPACES;
