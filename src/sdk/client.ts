/**
 * `createGatewayClient`: the SDK's front door. It wires the connection (status, tokens,
 * heartbeat), the outbox and its sender (reliable sends), the receiver (ordered, deduplicated,
 * gap-free messages) and the joined sessions (rejoined after every reconnect).
 *
 * The `message` stream of a session is its whole log from the join on, this client's own
 * messages included: the server does not echo a message to the socket that sent it, so the SDK
 * slots the sender's own message in at the `seq` its ack names. Contexts work the same way.
 */
import type {
  MemberEvent,
  SessionAddedEvent,
  SessionRemovedEvent,
  SyncResult,
} from "../protocol/events.js";
import type {
  AppendResult,
  Context,
  ContextUpdatePayload,
  ContextWriteResult,
  MemberReceipt,
  MessageInput,
  PresenceEntry,
  PresenceEvent,
  ReceiptEvent,
  StoredMessage,
  TypingEvent,
} from "../protocol/schemas.js";
import { type ClientStatus, Connection } from "./connection.js";
import { Emitter } from "./emitter.js";
import { ClientClosedError, type ClientError } from "./errors.js";
import { newMessageId } from "./ids.js";
import { IncomingStreams, type StreamUpdate } from "./incoming-streams.js";
import { type GatewayClientOptions, resolveOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { type OutgoingStream, OutgoingStreams, type StreamOptions } from "./outgoing-streams.js";
import { PresenceBook } from "./presence.js";
import { Receipts } from "./receipts.js";
import { Receiver } from "./receiver.js";
import { Sender } from "./sender.js";
import { type JoinResult, Sessions } from "./sessions.js";
import type { OutboxEntry } from "./storage.js";
import { TokenSource, tokenSubject } from "./token.js";
import { TypingThrottle } from "./typing.js";

/** A message to send; `id` is generated when absent (and reused on every resend). */
export type SendInput = Omit<MessageInput, "id"> & { id?: string };
/** The server's ack: `duplicate: true` when an earlier attempt had already stored it. */
export type SendResult = AppendResult;

export type ClientEvents = {
  /** The connection status changed; `reason` says why when known. */
  status: (status: ClientStatus, reason: string | undefined) => void;
  /** The next message of a joined session: ascending `seq`, each once, no holes. */
  message: (message: StoredMessage) => void;
  /** A context of a joined session reached a newer version (live, refreshed, or own). */
  context: (context: Context) => void;
  /** Something went wrong; the client carries on unless `status` turns `failed`. */
  error: (error: ClientError) => void;
  /** An outbox entry was acknowledged, including ones restored from storage. */
  sent: (result: SendResult, message: MessageInput) => void;
  /**
   * An outbox entry was refused for good (an error ack with `retryable: false`, e.g. FORBIDDEN,
   * TOO_LARGE, INVALID_PAYLOAD) and dropped from the outbox and its storage; `error` fires too.
   */
  sendFailed: (error: ClientError, message: MessageInput) => void;
  /**
   * A stream in a joined session (someone writing a message piece by piece): on start, on every
   * delta and on abort, always with the whole text so far. The stored `message` with the same
   * `id` replaces it. Streams this client writes are not reported.
   */
  stream: (stream: StreamUpdate) => void;
  /**
   * Someone else (or this principal on another socket) starts or stops typing in a joined
   * session. The server sends a `stop` for every `start` (timeout, message, leave, disconnect),
   * so no timer is needed here.
   */
  typing: (event: TypingEvent) => void;
  /**
   * A principal came online (a socket of it joined the session, on any node) or went offline in
   * a joined session; `client.presence(sessionId)` is already updated when this fires.
   */
  presence: (event: PresenceEvent) => void;
  /**
   * A session was joined or, after a reconnect, joined again: `client.presence(sessionId)` and
   * `client.receipts(sessionId)` now hold the join's lists, which replace what was known
   * before (changes made while offline come with no `presence` or `receipt` event of their own).
   */
  joined: (event: { sessionId: string; headSeq: number }) => void;
  /** This principal was added to a session (by anyone, on any node); join it to follow it. */
  sessionAdded: (event: SessionAddedEvent) => void;
  /** This principal was removed from a session; the client stops following it. */
  sessionRemoved: (event: SessionRemovedEvent) => void;
  /** A principal was added to a joined session. */
  memberAdded: (event: MemberEvent) => void;
  /** A principal was removed from a joined session. */
  memberRemoved: (event: MemberEvent) => void;
  /**
   * A member's watermarks in a joined session moved (this client's own included): from the
   * join's answer, a `receipt` event or the ack of this client's own report. Values only rise.
   */
  receipt: (event: ReceiptEvent) => void;
};

export interface GatewayClient {
  /** `connecting`, `connected`, `reconnecting`, `disconnected` (closed) or `failed` (final). */
  readonly status: ClientStatus;
  /** The token's `sub`, once a token is known. */
  readonly principalId: string | undefined;
  /** Messages in the outbox, being sent or waiting. */
  readonly outboxSize: number;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void;
  /** Resolves once connected; rejects on `failed`, on close, or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Joins a session and keeps it joined across reconnects. Without `lastSeq`, delivers the
   * messages after the session's head at join time; with it, every message after `lastSeq`
   * (0: the whole history). Rejects with GatewayError FORBIDDEN or NOT_FOUND.
   */
  joinSession(sessionId: string, options?: { lastSeq?: number }): Promise<JoinResult>;
  /** Stops delivery for the session and leaves its room. */
  leaveSession(sessionId: string): Promise<void>;
  /** Ids of the joined sessions. */
  sessions(): string[];
  /**
   * Who is online in a joined session, this client included: the last join's list with the
   * `presence` events since. Empty for a session not joined (yet).
   */
  presence(sessionId: string): PresenceEntry[];
  /**
   * Queues a message and resolves with its ack. Survives disconnects: the message waits in the
   * outbox and is resent with the same id until the server stores it (resolves, once) or refuses
   * it for good (rejects with GatewayError). Rejects at once with OutboxFullError when the
   * outbox is full, and with ClientClosedError when the client closes or fails first.
   * `timestamp` defaults to the time of this call, so resends keep it.
   */
  send(message: SendInput): Promise<SendResult>;
  /**
   * Opens a stream: a message written piece by piece (`write`), then stored (`end`, through the
   * outbox like `send`) or dropped (`abort`). Deltas written while offline are not sent; after a
   * reconnect the stream is opened again with its whole text so far.
   */
  stream(sessionId: string, options?: StreamOptions): OutgoingStream;
  /** The open streams of a joined session written by others, with their text so far. */
  openStreams(sessionId: string): StreamUpdate[];
  /**
   * Writes a context. Sent once, not retried: after a lost ack the SDK cannot know whether it
   * was applied, so it rejects (GatewayTimeoutError, GatewayNetworkError) and leaves the choice
   * to the caller; `expectedVersion` makes a retry safe.
   */
  updateContext(input: ContextUpdatePayload): Promise<ContextWriteResult>;
  /** Reads one or all contexts of a session. */
  getContexts(sessionId: string, contextId?: string): Promise<Context[]>;
  /**
   * Says whether the user is typing in a joined session; call it on every keystroke (`true`)
   * and when done or the input is cleared (`false`). Sends at most one `start` per 3 s and a
   * `stop` only after a `start`; best effort, never throws.
   */
  setTyping(sessionId: string, typing: boolean): void;
  /**
   * Says the app has shown the session's messages up to `seq` (read implies delivered). Sent at
   * most once a second per session (the newest `seq` wins) and again after a reconnect when the
   * server lacks it; best effort, never throws. `delivered` is reported by the client itself for
   * every message it hands to the app.
   */
  markRead(sessionId: string, seq: number): void;
  /** Every member's `delivered` and `read` watermarks in a joined session, as last heard. */
  receipts(sessionId: string): MemberReceipt[];
  /**
   * A page of stored messages after `afterSeq` (default 0), or the page just before `beforeSeq`
   * (not both); does not touch the live stream.
   */
  history(
    sessionId: string,
    options?: { afterSeq?: number; beforeSeq?: number; limit?: number },
  ): Promise<SyncResult>;
  /** Stops for good. Pending sends reject; entries in a persistent outbox storage stay there. */
  close(): Promise<void>;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const opts = resolveOptions(options);
  const log = opts.logger;
  const tokens = new TokenSource(options.token, options.getToken);
  let principalId = tokenSubject(tokens.token);
  const senderKind = opts.namespace === "/agents" ? "agent" : "user";
  const retry = { ...opts.retry, jitter: opts.reconnection.jitter };

  const events = new Emitter<ClientEvents>((error, event) =>
    log.error("event listener threw", { event, error: String(error) }),
  );
  const emitError = (error: unknown) => events.emit("error", error as ClientError);

  const outbox = new Outbox({
    storage: opts.outbox.storage,
    maxSize: opts.outbox.maxSize,
    namespace: opts.namespace,
    onStorageError: (error) => {
      log.warn("outbox storage failed", { error: String(error) });
      emitError(error);
    },
  });

  const online = new PresenceBook();

  const receiver = new Receiver({
    deliver: (message) => {
      incoming.ended(message.id);
      events.emit("message", message);
      receipts.delivered(message.sessionId, message.seq);
    },
    fetchPage: (sessionId, afterSeq) =>
      connection.request("sync", { sessionId, afterSeq, limit: opts.syncPageSize }),
    gapWaitMs: opts.gapWaitMs,
    retryMs: opts.retry.maxDelayMs,
    onError: emitError,
  });

  const connection: Connection = new Connection(opts, tokens, {
    status: (status, reason) => {
      if (status !== "connected") outgoing.disconnected();
      events.emit("status", status, reason);
    },
    error: emitError,
    connected: () => {
      // The server ended this socket's typing when the old one went.
      typingThrottle.forget();
      sessions.rejoinAll();
      outgoing.reconnected();
    },
    failed: (error) => stopParts(error),
    token: (token) => {
      principalId = tokenSubject(token) ?? principalId;
    },
    message: (message) => receiver.ingest(message),
    context: (context) => sessions.context(context),
    head: (head) => receiver.head(head.sessionId, head.seq),
    hidden: (hidden) => receiver.skip(hidden.sessionId, hidden.seq),
    sessionAdded: (event) => events.emit("sessionAdded", event),
    sessionRemoved: (event) => {
      // The server has already taken the socket out of the room; forget the session so a
      // reconnect does not try to rejoin it.
      sessions.leave(event.sessionId).catch(() => {});
      online.forget(event.sessionId);
      incoming.forget(event.sessionId);
      events.emit("sessionRemoved", event);
    },
    memberAdded: (event) => events.emit("memberAdded", event),
    memberRemoved: (event) => events.emit("memberRemoved", event),
    typing: (event) => events.emit("typing", event),
    receipt: (event) => receipts.event(event),
    presence: (event) => {
      online.apply(event);
      events.emit("presence", event);
    },
    streamStart: (event) => incoming.start(event),
    streamDelta: (event) => incoming.delta(event),
    streamAbort: (event) => incoming.abort(event),
  });

  const receipts = new Receipts({
    send: async (sessionId, seq, kind) => {
      const { delivered, read } = await connection.request("receipt", { sessionId, seq, kind });
      return { delivered, read };
    },
    canSend: (sessionId) => connection.status === "connected" && sessions.ids().includes(sessionId),
    self: () => principalId,
    onReceipt: (event) => events.emit("receipt", event),
  });

  const incoming = new IncomingStreams({
    emit: (update) => events.emit("stream", update),
    isOwn: (id) => outgoing.has(id),
  });

  const outgoing = new OutgoingStreams({
    connection,
    queueEnd: (message, visibility) =>
      outbox.add(
        message,
        visibility === undefined ? { event: "stream:end" } : { event: "stream:end", visibility },
      ),
    onError: emitError,
    retryMs: opts.retry.delayMs,
  });

  const typingThrottle = new TypingThrottle({
    send: (sessionId, state) => {
      if (connection.status !== "connected" || !sessions.ids().includes(sessionId)) return;
      connection
        .request("typing", { sessionId, state })
        .catch((error: unknown) => log.debug("typing not sent", { error: String(error) }));
    },
  });

  const sessions = new Sessions({
    connection,
    receiver,
    retry,
    onContext: (context) => events.emit("context", context),
    onPresence: (sessionId, entries) => online.replace(sessionId, entries),
    onError: emitError,
    onJoined: (result) => {
      incoming.joined(result.sessionId, result.streams ?? []);
      receipts.joined(result.sessionId, result.receipts);
      events.emit("joined", { sessionId: result.sessionId, headSeq: result.headSeq });
    },
    onLeft: (sessionId) => receipts.forget(sessionId),
  });

  const sender = new Sender({
    outbox,
    whenConnected: () => connection.whenConnected(),
    sendOnce: (entry) =>
      entry.event === "stream:end"
        ? connection.request("stream:end", streamEndPayload(entry))
        : connection.request("message", entry.message),
    lanes: opts.outbox.maxInFlight,
    retry,
    onSent: (entry, result) => {
      echoOwnMessage(entry.message, result);
      // The server ended this principal's typing there when it stored the message.
      typingThrottle.forget(entry.message.sessionId);
      events.emit("sent", result, entry.message);
    },
    onFailed: (entry, error) => {
      // Both: `sendFailed` names the message (restored entries have no promise to reject), and
      // `error` is where an app already listens for everything that went wrong.
      events.emit("sendFailed", error as ClientError, entry.message);
      emitError(error);
    },
    onRetry: (entry, error, delayMs) =>
      log.debug("resending message", {
        id: entry.id,
        code: (error as { code?: string }).code,
        delayMs,
      }),
  });

  /** The server skips the sending socket; put the sender's own message into its stream. */
  function echoOwnMessage(message: MessageInput, result: AppendResult) {
    if (!receiver.has(message.sessionId)) return;
    if (principalId === undefined) {
      // Cannot build it without knowing who we are: let the gap filler fetch it.
      receiver.head(message.sessionId, result.seq);
      return;
    }
    const { senderId: _given, ...fields } = message;
    receiver.ingest({
      ...fields,
      seq: result.seq,
      senderId: principalId,
      senderKind,
      // The join's list names this principal as the server does.
      senderName: online.get(message.sessionId, principalId)?.name ?? principalId,
      visibility: message.visibility ?? "session",
      timestamp: message.timestamp ?? result.createdAt,
      createdAt: result.createdAt,
      status: "sent",
    });
  }

  let closing: Promise<void> | undefined;
  function stopParts(error: unknown) {
    outgoing.clear();
    incoming.clear();
    sender.stop();
    receiver.stop();
    receipts.stop();
    sessions.stop(error);
    outbox.rejectAll(error);
  }

  /** Public one-shot calls wait for the connection up to one ack timeout, then try once. */
  async function call<T>(run: () => Promise<T>): Promise<T> {
    await connection.whenConnected(opts.ackTimeoutMs);
    return run();
  }

  void (async () => {
    await connection.obtainToken();
    if (closing || connection.failure) return;
    principalId = tokenSubject(tokens.token) ?? principalId;
    connection.open();
    const restored = await outbox.restore(principalId);
    if (restored > 0) log.info("outbox entries restored from storage", { restored });
    if (!closing && !connection.failure) sender.start();
  })();

  return {
    get status() {
      return connection.status;
    },
    get principalId() {
      return principalId;
    },
    get outboxSize() {
      return outbox.size;
    },
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
    ready: (timeoutMs) => connection.whenConnected(timeoutMs),
    joinSession(sessionId, joinOptions) {
      if (closing) return Promise.reject(new ClientClosedError("The client is closed"));
      return sessions.join(sessionId, joinOptions?.lastSeq);
    },
    leaveSession: (sessionId) => {
      online.forget(sessionId);
      incoming.forget(sessionId);
      return sessions.leave(sessionId);
    },
    sessions: () => sessions.ids(),
    presence: (sessionId) => online.list(sessionId),
    send(input) {
      if (closing) return Promise.reject(new ClientClosedError("The client is closed"));
      if (connection.failure) return Promise.reject(connection.failure);
      const message: MessageInput = {
        ...input,
        id: input.id ?? newMessageId(),
        timestamp: input.timestamp ?? Date.now(),
      };
      return outbox.add(message);
    },
    stream(sessionId, streamOptions) {
      if (closing) throw new ClientClosedError("The client is closed");
      if (connection.failure) throw connection.failure;
      return outgoing.create(sessionId, streamOptions);
    },
    openStreams: (sessionId) => incoming.list(sessionId),
    async updateContext(input) {
      const result = await call(() => connection.request("context:update", input));
      if (principalId !== undefined) {
        sessions.context({
          sessionId: input.sessionId,
          contextId: result.contextId,
          contextData: input.contextData,
          version: result.version,
          sourceAgentId: principalId,
          updatedAt: result.updatedAt,
        });
      }
      return result;
    },
    async getContexts(sessionId, contextId) {
      const payload = contextId === undefined ? { sessionId } : { sessionId, contextId };
      const { contexts } = await call(() => connection.request("context:get", payload));
      return contexts;
    },
    setTyping: (sessionId, typing) => typingThrottle.set(sessionId, typing),
    markRead: (sessionId, seq) => receipts.markRead(sessionId, seq),
    receipts: (sessionId) => receipts.list(sessionId),
    history(sessionId, page) {
      return call(() =>
        connection.request("sync", {
          sessionId,
          ...(page?.beforeSeq === undefined
            ? { afterSeq: page?.afterSeq ?? 0 }
            : { beforeSeq: page.beforeSeq }),
          ...(page?.limit === undefined ? {} : { limit: page.limit }),
        }),
      );
    },
    close() {
      closing ??= (async () => {
        connection.close();
        stopParts(new ClientClosedError("The client was closed"));
        await outbox.flushStorage();
      })();
      return closing;
    },
  };
}

/** `stream:end` takes the fields a stream's message can have, and no others. */
function streamEndPayload(entry: OutboxEntry): Record<string, unknown> {
  const { id, sessionId, content, type, receiverId, replyTo, contextId, metadata } = entry.message;
  const payload: Record<string, unknown> = { id, sessionId, content, type };
  if (receiverId !== undefined) payload.receiverId = receiverId;
  if (replyTo !== undefined) payload.replyTo = replyTo;
  if (contextId !== undefined) payload.contextId = contextId;
  if (metadata !== undefined) payload.metadata = metadata;
  if (entry.visibility !== undefined) payload.visibility = entry.visibility;
  return payload;
}
