/**
 * Streams other principals write into joined sessions, as the app sees them: one `stream` update
 * with the whole text so far on start, on every delta and on abort, so a UI only ever replaces
 * what it shows. The stored `message` with the stream's id ends it (the app replaces the stream
 * with the message by id). Join and rejoin answers carry the open streams with their text
 * (`streams` in the `join_session` ack), so a client that joins or reconnects mid-answer shows it
 * at once; deltas that arrive before that answer are held and applied on top of it.
 */
import type { PrincipalKind } from "../protocol/schemas.js";
import type {
  OpenStream,
  StreamAbortEvent,
  StreamDeltaEvent,
  StreamStartEvent,
} from "../protocol/streams.js";

/** A stream as the `stream` event reports it. */
export interface StreamUpdate {
  id: string;
  sessionId: string;
  senderId: string;
  senderKind: PrincipalKind;
  senderName: string;
  type: StreamStartEvent["type"];
  receiverId?: string;
  visibility: StreamStartEvent["visibility"];
  replyTo?: string;
  startedAt: number;
  /** The text so far. */
  content: string;
  /** The index the next delta will have. */
  nextIndex: number;
  state: "open" | "aborted";
  /** Why it was aborted: "sender", "idle", "disconnected", … */
  reason?: string;
}

/** Deltas held per unknown stream, and unknown streams held per client, at most. */
const EARLY_DELTAS = 1_000;
const EARLY_STREAMS = 100;

export interface IncomingStreamsOptions {
  emit(update: StreamUpdate): void;
  /** Ids of streams this client writes: the server does not send their events here. */
  isOwn(id: string): boolean;
}

export class IncomingStreams {
  private readonly open = new Map<string, StreamUpdate>();
  /** Deltas of streams not known yet (their start is in a join answer still on its way). */
  private readonly early = new Map<string, StreamDeltaEvent[]>();

  constructor(private readonly options: IncomingStreamsOptions) {}

  start(event: StreamStartEvent): void {
    const known = this.open.get(event.id);
    if (known) {
      // The sender re-opened it after a reconnect: its next delta (index 0) carries the whole
      // text, so the text shown so far stays until then instead of blinking out.
      known.nextIndex = 0;
      known.state = "open";
      return;
    }
    const update: StreamUpdate = {
      id: event.id,
      sessionId: event.sessionId,
      senderId: event.senderId,
      senderKind: event.senderKind,
      senderName: event.senderName,
      type: event.type,
      visibility: event.visibility,
      startedAt: event.startedAt,
      content: "",
      nextIndex: 0,
      state: "open",
    };
    if (event.receiverId !== undefined) update.receiverId = event.receiverId;
    if (event.replyTo !== undefined) update.replyTo = event.replyTo;
    this.open.set(event.id, update);
    this.options.emit({ ...update });
    this.replayEarly(update);
  }

  delta(event: StreamDeltaEvent): void {
    const stream = this.open.get(event.id);
    if (!stream || stream.sessionId !== event.sessionId) {
      this.hold(event);
      return;
    }
    if (this.apply(stream, event)) this.options.emit({ ...stream });
  }

  abort(event: StreamAbortEvent): void {
    const stream = this.open.get(event.id);
    this.early.delete(event.id);
    if (!stream || stream.sessionId !== event.sessionId) return;
    this.open.delete(event.id);
    this.options.emit({ ...stream, state: "aborted", reason: event.reason });
  }

  /** The stored message with this id arrived: the stream is over. */
  ended(id: string): void {
    this.open.delete(id);
    this.early.delete(id);
  }

  /**
   * A (re)join answered with the session's open streams. Streams known here that it no longer
   * lists ended or were aborted while this client was away: those whose message has not come
   * (it may still, from the catch-up, and then replaces it) are reported aborted ("gone").
   */
  joined(sessionId: string, streams: readonly OpenStream[]): void {
    const listed = new Set(streams.map((s) => s.id));
    for (const stream of [...this.open.values()]) {
      if (stream.sessionId !== sessionId || listed.has(stream.id)) continue;
      this.open.delete(stream.id);
      this.options.emit({ ...stream, state: "aborted", reason: "gone" });
    }
    for (const s of streams) {
      if (this.options.isOwn(s.id)) continue;
      const known = this.open.get(s.id);
      if (known && known.sessionId === sessionId && known.nextIndex >= s.nextIndex) continue;
      const update: StreamUpdate = {
        id: s.id,
        sessionId,
        senderId: s.senderId,
        senderKind: s.senderKind,
        senderName: s.senderName,
        type: s.type,
        visibility: s.visibility,
        startedAt: s.startedAt,
        content: s.content,
        nextIndex: s.nextIndex,
        state: "open",
      };
      if (s.receiverId !== undefined) update.receiverId = s.receiverId;
      this.open.set(s.id, update);
      this.options.emit({ ...update });
      this.replayEarly(update);
    }
  }

  /** The client left the session (or was removed): forget its streams without a word. */
  forget(sessionId: string): void {
    for (const stream of [...this.open.values()]) {
      if (stream.sessionId === sessionId) this.open.delete(stream.id);
    }
    for (const [id, deltas] of this.early) {
      if (deltas[0]?.sessionId === sessionId) this.early.delete(id);
    }
  }

  /** Open streams of a session, as last reported. */
  list(sessionId: string): StreamUpdate[] {
    return [...this.open.values()].filter((s) => s.sessionId === sessionId).map((s) => ({ ...s }));
  }

  clear(): void {
    this.open.clear();
    this.early.clear();
  }

  /** Index 0 replaces (a re-open's full text), the next index appends, older ones are repeats. */
  private apply(stream: StreamUpdate, event: StreamDeltaEvent): boolean {
    if (event.index === 0) {
      stream.content = event.delta;
    } else if (event.index >= stream.nextIndex) {
      // A gap (index past the next) loses text only until the stored message replaces it.
      stream.content += event.delta;
    } else {
      return false;
    }
    stream.nextIndex = event.index + 1;
    stream.state = "open";
    return true;
  }

  private hold(event: StreamDeltaEvent): void {
    let held = this.early.get(event.id);
    if (!held) {
      if (this.early.size >= EARLY_STREAMS) return;
      held = [];
      this.early.set(event.id, held);
    }
    if (held.length < EARLY_DELTAS) held.push(event);
  }

  private replayEarly(stream: StreamUpdate): void {
    const held = this.early.get(stream.id);
    if (!held) return;
    this.early.delete(stream.id);
    let changed = false;
    for (const event of held) {
      if (event.sessionId !== stream.sessionId || event.index < stream.nextIndex) continue;
      changed = this.apply(stream, event) || changed;
    }
    if (changed) this.options.emit({ ...stream });
  }
}
