/**
 * Streams this client writes (`client.stream()`): a message sent piece by piece while it is
 * being generated, under the id the stored message will have.
 *
 * - Deltas are live only: written while the connection is down they are not sent (and never
 *   queued), but their text is kept.
 * - One delta is in flight at a time: what is written meanwhile goes out as the next delta when
 *   its ack comes. The server holds a delta whose index is ahead of a missing one, so a refused
 *   delta (RATE_LIMITED past `STREAM_DELTA_RATE_LIMIT`) must be sent again under its index before
 *   any later one; coalescing keeps a fast writer under the limit in the first place.
 * - After every (re)connect an open stream is opened again (`stream:start`, same id) and its
 *   whole text so far goes out as one delta with index 0, which replaces what viewers show.
 * - `end` goes through the outbox like a message (`stream:end` with the full text as `content`),
 *   so it survives a cut connection: the server stores an end for a stream it no longer has open
 *   like a message with that id, once.
 */
import type { AppendResult, MessageInput } from "../protocol/schemas.js";
import type { StreamVisibility } from "../protocol/streams.js";
import type { Connection } from "./connection.js";
import { type ClientError, GatewayNetworkError } from "./errors.js";
import { newMessageId } from "./ids.js";

/** What `client.stream()` takes: the fields of the message the stream will become. */
export interface StreamOptions {
  /** The final message's id (the idempotency key); generated when absent. */
  id?: string;
  /** Default `"text"`. */
  type?: MessageInput["type"];
  receiverId?: string;
  /** `"direct"`: only the sender and `receiverId` see it. Default `"session"`. */
  visibility?: StreamVisibility;
  replyTo?: string;
  contextId?: string;
  /** Sent with the start; the end's metadata defaults to it. */
  metadata?: Record<string, unknown>;
}

export interface OutgoingStream {
  readonly id: string;
  readonly sessionId: string;
  /** The whole text written so far. */
  readonly text: string;
  /**
   * Appends text. Returns true when the stream is open on a live connection (sent at once, or
   * with the next delta while one is in flight); false when it is only kept for the re-open and
   * the end. Throws after end/abort.
   */
  write(delta: string): boolean;
  /**
   * Stores the message: `content` (default: the text written) through the outbox. Resolves with
   * the ack, like `send()`; `duplicate: true` when an earlier attempt had stored it.
   */
  end(content?: string): Promise<AppendResult>;
  /** Drops the stream; viewers are told. Nothing is stored. Best effort, never rejects. */
  abort(reason?: string): Promise<void>;
}

export interface OutgoingStreamsOptions {
  connection: Connection;
  /** Queues the end in the outbox; resolves with the ack. */
  queueEnd(message: MessageInput, visibility: StreamVisibility | undefined): Promise<AppendResult>;
  onError(error: ClientError): void;
  /** Wait before trying a start again after CONFLICT (the old socket's stream still open). */
  retryMs: number;
}

type Phase = "starting" | "open" | "offline" | "done";

interface State {
  handle: OutgoingStream;
  sessionId: string;
  options: StreamOptions & { id: string };
  text: string;
  nextIndex: number;
  /** Written on the current open and not sent yet. */
  unsent: string;
  /** A delta is waiting for its ack. */
  inflight: boolean;
  phase: Phase;
  /** Bumped by each start, so a late ack of an earlier one is ignored. */
  attempt: number;
  /** Settles when the current start has its answer (or the connection went). */
  started: Promise<void>;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

export class OutgoingStreams {
  private readonly streams = new Map<string, State>();

  constructor(private readonly options: OutgoingStreamsOptions) {}

  has(id: string): boolean {
    return this.streams.has(id);
  }

  create(sessionId: string, streamOptions: StreamOptions = {}): OutgoingStream {
    const id = streamOptions.id ?? newMessageId();
    if (this.streams.has(id)) throw new Error(`A stream with id ${id} is already open`);
    const state = {
      sessionId,
      options: { ...streamOptions, id },
      text: "",
      nextIndex: 0,
      unsent: "",
      inflight: false,
      phase: "offline",
      attempt: 0,
      started: Promise.resolve(),
      retryTimer: undefined,
    } as Omit<State, "handle"> as State;
    state.handle = {
      id,
      sessionId,
      get text() {
        return state.text;
      },
      write: (delta) => this.write(state, delta),
      end: (content) => this.end(state, content),
      abort: (reason) => this.abort(state, reason),
    };
    this.streams.set(id, state);
    if (this.options.connection.connected) this.open(state);
    return state.handle;
  }

  /** After every (re)connect: open every stream again, with its text so far. */
  reconnected(): void {
    for (const state of this.streams.values()) this.open(state);
  }

  /** The connection went: nothing is sent until the next `reconnected`. */
  disconnected(): void {
    for (const state of this.streams.values()) {
      if (state.phase !== "done") state.phase = "offline";
    }
  }

  /** The client closes: ends are in the outbox already; open streams are dropped. */
  clear(): void {
    for (const state of this.streams.values()) {
      clearTimeout(state.retryTimer);
      state.phase = "done";
    }
    this.streams.clear();
  }

  private open(state: State): void {
    if (state.phase === "done") return;
    clearTimeout(state.retryTimer);
    const attempt = ++state.attempt;
    state.phase = "starting";
    const { id, type, receiverId, visibility, replyTo, contextId, metadata } = state.options;
    const payload = dropUndefined({
      id,
      sessionId: state.sessionId,
      type,
      receiverId,
      visibility,
      replyTo,
      contextId,
      metadata,
    });
    state.started = this.options.connection.request("stream:start", payload).then(
      (ack) => {
        if (state.attempt !== attempt || state.phase !== "starting") return;
        if (ack.duplicate) {
          // Already stored (an end that got through before): nothing left to stream.
          state.phase = "done";
          this.streams.delete(id);
          return;
        }
        state.phase = "open";
        state.nextIndex = 0;
        // Index 0 carries the whole text so far: it replaces what viewers show.
        state.unsent = state.text;
        state.inflight = false;
        this.pump(state);
      },
      (error: unknown) => {
        if (state.attempt !== attempt || state.phase !== "starting") return;
        state.phase = "offline";
        if (error instanceof GatewayNetworkError) return; // the reconnect opens it again
        if ((error as ClientError).code === "CONFLICT") {
          // The server still holds the stream of a connection it has not seen go yet.
          state.retryTimer = setTimeout(() => {
            if (this.options.connection.connected) this.open(state);
          }, this.options.retryMs);
          return;
        }
        this.options.onError(error as ClientError);
      },
    );
  }

  private write(state: State, delta: string): boolean {
    if (state.phase === "done") throw new Error(`Stream ${state.options.id} has ended`);
    const live = state.phase === "open" && this.options.connection.connected;
    if (delta === "") return live;
    state.text += delta;
    if (!live) return false;
    state.unsent += delta;
    this.pump(state);
    return true;
  }

  /** Sends what is unsent as the next delta, unless one is in flight. */
  private pump(state: State): void {
    if (state.inflight || state.unsent === "" || state.phase !== "open") return;
    if (!this.options.connection.connected) return;
    const index = state.nextIndex;
    const delta = state.unsent;
    const attempt = state.attempt;
    state.unsent = "";
    state.inflight = true;
    const payload = { id: state.options.id, sessionId: state.sessionId, index, delta };
    this.options.connection.request("stream:delta", payload).then(
      () => {
        if (state.attempt !== attempt) return;
        state.inflight = false;
        state.nextIndex = index + 1;
        this.pump(state);
      },
      (error: unknown) => {
        if (state.attempt !== attempt || state.phase !== "open") return;
        state.inflight = false;
        if (error instanceof GatewayNetworkError) return; // the reconnect re-opens it
        const code = (error as ClientError).code;
        if (code === "NOT_FOUND") {
          this.open(state); // the server closed it (idle): open it again with the whole text
          return;
        }
        if (code === "RATE_LIMITED") {
          // Not taken: the same index again, with what was written since, a moment later.
          state.unsent = delta + state.unsent;
          clearTimeout(state.retryTimer);
          state.retryTimer = setTimeout(() => this.pump(state), this.options.retryMs);
          return;
        }
        // TOO_LARGE and the like: this text cannot be streamed; the end says the rest.
        this.options.onError(error as ClientError);
      },
    );
  }

  private async end(state: State, content?: string): Promise<AppendResult> {
    if (state.phase === "done") throw new Error(`Stream ${state.options.id} has ended`);
    // A start still on its way is answered first, so the end never overtakes it on the server.
    const started = state.started;
    state.phase = "done";
    clearTimeout(state.retryTimer);
    this.streams.delete(state.options.id);
    await started.catch(() => {});
    const { id, type, receiverId, replyTo, contextId, metadata, visibility } = state.options;
    const message = dropUndefined({
      id,
      sessionId: state.sessionId,
      type: type ?? "text",
      content: content ?? state.text,
      receiverId,
      replyTo,
      contextId,
      metadata,
    }) as MessageInput;
    return this.options.queueEnd(message, visibility);
  }

  private async abort(state: State, reason?: string): Promise<void> {
    if (state.phase === "done") return;
    const wasLive = state.phase === "open" || state.phase === "starting";
    state.phase = "done";
    clearTimeout(state.retryTimer);
    this.streams.delete(state.options.id);
    if (!wasLive || !this.options.connection.connected) return; // the server dropped it already
    await state.started.catch(() => {});
    const payload = dropUndefined({ id: state.options.id, sessionId: state.sessionId, reason });
    await this.options.connection.request("stream:abort", payload).catch((error: unknown) => {
      // NOT_FOUND: the server had closed it already (idle), which is what was asked for.
      if (error instanceof GatewayNetworkError || (error as ClientError).code === "NOT_FOUND") {
        return;
      }
      this.options.onError(error as ClientError);
    });
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
