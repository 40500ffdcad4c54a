/**
 * The open streams this node knows of, its own and every other node's (PROTOCOL.md "Streams"):
 * each with its text so far, so `join_session` can list them on any node. Every relayed stream
 * event, this node's own included, passes through `accept` before it reaches a socket: deltas
 * are put in index order (a large one may travel as an attachment and be overtaken), events
 * from anyone but the stream's sender are dropped, and a stream that nothing refreshes expires.
 * Nothing here touches the database.
 */
import type {
  OpenStream,
  StreamAudience,
  StreamRelay,
  StreamStartEvent,
} from "../protocol/index.js";
import { audienceOf } from "../protocol/index.js";

/** Deltas held past a gap, at most, per stream. */
export const MAX_AHEAD = 1_024;
/** How much longer than the owner a node waits before it expires another node's stream itself. */
export const REPLICA_GRACE_MS = 5_000;
/** How long deltas that came before their stream's start are kept, and how many bytes at most. */
export const EARLY_MS = 5_000;
export const EARLY_MAX_BYTES = 4_194_304;
/** Open streams of one sender a node keeps, from every node and function, per open allowed. */
export const KNOWN_PER_OPEN = 16;

/** Who runs a stream's aborts: this node, another node, or nobody (a serverless function). */
export type StreamOwner = "here" | "remote" | "none";

export interface OpenEntry {
  start: StreamStartEvent;
  to: StreamAudience;
  owner: StreamOwner;
  /** Opened by a socket on this node: aborted when the sender's sockets here are all gone. */
  viaSocket: boolean;
  /** The start has been delivered here (an entry is reserved before its start is relayed). */
  announced: boolean;
  /** Deltas in index order, `nextIndex` of them. */
  parts: string[];
  bytes: number;
  /** Deltas past a gap, by index. */
  ahead: Map<number, string>;
  aheadBytes: number;
  lastActivity: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** An end is being stored: no more deltas. */
  ending: boolean;
  /** Delta calls allowed now (a token bucket refilled at the per-stream rate). */
  tokens: number;
  refilledAt: number;
}

export interface RegistryOptions {
  /** This node's id, as carried by the `start` relays it sends. */
  nodeId: string;
  /** STREAM_IDLE_MS. */
  idleMs: number;
  /** Delta calls per second per stream; bursts of twice this. */
  deltasPerSecond: number;
  /**
   * STREAM_MAX_OPEN_PER_PRINCIPAL: a node keeps at most `KNOWN_PER_OPEN` times this many open
   * streams of one sender (a function cannot count them), and ignores starts past it.
   */
  maxOpenPerPrincipal: number;
  /** Publishes a relay to every node, this one included (through `accept`). */
  publish(relay: StreamRelay): void;
  /** Emits a relay to this node's sockets only (a stream expired here without its owner). */
  emitLocal(relay: StreamRelay): void;
}

const utf8 = new TextEncoder();
export const byteLength = (text: string): number => utf8.encode(text).length;

export class StreamRegistry {
  private readonly streams = new Map<string, OpenEntry>();
  private readonly bySession = new Map<string, Set<string>>();
  /** Streams this node owns, per sender, for the open-streams limit and the disconnect abort. */
  private readonly bySender = new Map<string, Set<string>>();
  /** Every open stream this node knows, per sender, for the bound on what it keeps. */
  private readonly knownBySender = new Map<string, number>();
  /**
   * Deltas that came before their stream's start, oldest first: a large start travels as an
   * attachment, which later small events can overtake.
   */
  private readonly early = new Map<string, { at: number; deltas: StreamRelay[] }>();
  private earlyBytes = 0;

  constructor(private readonly options: RegistryOptions) {}

  get(id: string): OpenEntry | undefined {
    return this.streams.get(id);
  }

  /** Streams this node owns for `senderId`. */
  ownedBy(senderId: string): number {
    return this.bySender.get(senderId)?.size ?? 0;
  }

  /** Reserves a stream this node opens; `accept` of its start relay announces it. */
  reserve(start: StreamStartEvent, viaSocket: boolean): OpenEntry {
    const entry = this.add(start, "here", viaSocket, false);
    let own = this.bySender.get(start.senderId);
    if (!own) {
      own = new Set();
      this.bySender.set(start.senderId, own);
    }
    own.add(start.id);
    return entry;
  }

  /** The session's open streams with their text so far. */
  openIn(sessionId: string): OpenStream[] {
    const out: OpenStream[] = [];
    for (const id of this.bySession.get(sessionId) ?? []) {
      const entry = this.streams.get(id);
      if (!entry?.announced) continue;
      const { start } = entry;
      const open: OpenStream = {
        id: start.id,
        senderId: start.senderId,
        senderKind: start.senderKind,
        senderName: start.senderName,
        type: start.type,
        visibility: start.visibility,
        startedAt: start.startedAt,
        content: entry.parts.join(""),
        nextIndex: entry.parts.length,
      };
      if (start.receiverId !== undefined) open.receiverId = start.receiverId;
      out.push(open);
    }
    return out;
  }

  /** The text so far, deltas past a gap included, in index order. */
  text(entry: OpenEntry): string {
    if (entry.ahead.size === 0) return entry.parts.join("");
    const ahead = [...entry.ahead.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
    return entry.parts.join("") + ahead.join("");
  }

  /** Takes a delta call from the stream's bucket; false when it is over its rate. */
  takeDeltaToken(entry: OpenEntry): boolean {
    const rate = this.options.deltasPerSecond;
    const now = performance.now();
    entry.tokens = Math.min(rate * 2, entry.tokens + ((now - entry.refilledAt) / 1000) * rate);
    entry.refilledAt = now;
    if (entry.tokens < 1) return false;
    entry.tokens -= 1;
    return true;
  }

  /**
   * A relay from any node, this one included: updates what this node knows and returns the
   * events to emit to this node's sockets, in order, each with the stream's own audience.
   */
  accept(relay: StreamRelay): StreamRelay[] {
    switch (relay.kind) {
      case "start": {
        const known = this.streams.get(relay.event.id);
        if (known) {
          if (known.announced || known.start.senderId !== relay.event.senderId) return [];
          known.announced = true;
          return [relay];
        }
        const { senderId } = relay.event;
        const cap = this.options.maxOpenPerPrincipal * KNOWN_PER_OPEN;
        if ((this.knownBySender.get(senderId) ?? 0) >= cap) return [];
        const owner: StreamOwner =
          relay.node === null ? "none" : relay.node === this.options.nodeId ? "here" : "remote";
        this.add(relay.event, owner, false, true);
        const out: StreamRelay[] = [relay];
        const early = this.takeEarly(relay.event.id);
        for (const delta of early) out.push(...this.accept(delta));
        return out;
      }
      case "delta": {
        const entry = this.streams.get(relay.event.id);
        if (!entry) {
          this.keepEarly(relay);
          return [];
        }
        if (entry.start.senderId !== relay.event.senderId) return [];
        // Its text is being stored: what comes now would not be in the message.
        if (entry.start.sessionId !== relay.event.sessionId || entry.ending) return [];
        entry.lastActivity = Date.now();
        const { index, delta } = relay.event;
        if (index < entry.parts.length || entry.ahead.has(index)) return [];
        if (index > entry.parts.length) {
          if (index - entry.parts.length >= MAX_AHEAD) return [];
          entry.ahead.set(index, delta);
          entry.aheadBytes += byteLength(delta);
          return [];
        }
        const out: StreamRelay[] = [];
        const push = (i: number, text: string) => {
          entry.parts.push(text);
          entry.bytes += byteLength(text);
          out.push({
            kind: "delta",
            event: { ...relay.event, index: i, delta: text },
            to: entry.to,
          });
        };
        push(index, delta);
        for (let next = entry.ahead.get(entry.parts.length); next !== undefined; ) {
          const i = entry.parts.length;
          entry.ahead.delete(i);
          entry.aheadBytes -= byteLength(next);
          push(i, next);
          next = entry.ahead.get(entry.parts.length);
        }
        return out;
      }
      case "end": {
        this.takeEarly(relay.id);
        const entry = this.streams.get(relay.id);
        if (entry && entry.start.senderId === relay.senderId) this.remove(entry);
        return [];
      }
      case "abort": {
        this.takeEarly(relay.event.id);
        const entry = this.streams.get(relay.event.id);
        if (!entry || entry.start.senderId !== relay.to.senderId) return [];
        if (entry.start.sessionId !== relay.event.sessionId) return [];
        this.remove(entry);
        return entry.announced ? [{ ...relay, to: entry.to }] : [];
      }
      case "sync":
        if (relay.node !== this.options.nodeId) this.answerSync();
        return [];
      case "snapshot":
        return this.learn(relay);
    }
  }

  /**
   * Asks every node for the streams it owns: this node missed their relays (it started, or its
   * listener was down).
   */
  sync(): void {
    this.options.publish({ kind: "sync", node: this.options.nodeId });
  }

  /**
   * One snapshot of each open stream this node owns. Only owners answer: every node holding a
   * copy would multiply the answers, and a function's streams have no owner to ask. Each is one
   * item of the fan-out batch, which packs them into NOTIFY-sized batches (a stream whose text
   * alone is larger travels as an attachment, like a large delta); the owner's later deltas
   * follow in the same queue.
   */
  private answerSync(): void {
    for (const entry of [...this.streams.values()]) {
      if (entry.owner !== "here" || !entry.announced) continue;
      this.options.publish({
        kind: "snapshot",
        node: this.options.nodeId,
        event: entry.start,
        content: entry.parts.join(""),
        nextIndex: entry.parts.length,
      });
    }
  }

  /** A stream from another node's snapshot, kept when this node does not know it yet. */
  private learn(relay: StreamRelay & { kind: "snapshot" }): StreamRelay[] {
    const { event, content, nextIndex } = relay;
    if (relay.node === this.options.nodeId || this.streams.has(event.id)) return [];
    if (!Number.isSafeInteger(nextIndex) || nextIndex < 0) return [];
    const cap = this.options.maxOpenPerPrincipal * KNOWN_PER_OPEN;
    if ((this.knownBySender.get(event.senderId) ?? 0) >= cap) return [];
    const entry = this.add(event, "remote", false, true);
    // The text so far as the first delta: only the count matters for the indexes to come.
    entry.parts = new Array<string>(nextIndex).fill("");
    if (nextIndex > 0) entry.parts[0] = content;
    entry.bytes = byteLength(content);
    // Deltas that came before the snapshot: those it already holds are dropped as retries.
    const out: StreamRelay[] = [];
    for (const delta of this.takeEarly(event.id)) out.push(...this.accept(delta));
    return out;
  }

  /** A stored message: a stream with its id (same sender and session) is over. */
  messageStored(id: string, sessionId: string, senderId: string): void {
    const entry = this.streams.get(id);
    if (entry && entry.start.sessionId === sessionId && entry.start.senderId === senderId) {
      this.remove(entry);
    }
  }

  /** Removes a stream this node reserved or ended itself, relaying nothing. */
  forget(entry: OpenEntry): void {
    if (this.streams.get(entry.start.id) === entry) this.remove(entry);
  }

  /** The sender's sockets on this node are all gone: the streams they opened here abort. */
  senderGone(senderId: string): void {
    for (const id of [...(this.bySender.get(senderId) ?? [])]) {
      const entry = this.streams.get(id);
      if (entry?.viaSocket && !entry.ending) this.abortOwned(entry, "disconnected");
    }
  }

  /**
   * The sender left the session (removed): its streams there end on this node, which every node
   * does for itself as each hears of the removal.
   */
  memberRemoved(sessionId: string, principalId: string): void {
    for (const id of [...(this.bySession.get(sessionId) ?? [])]) {
      const entry = this.streams.get(id);
      if (!entry || entry.start.senderId !== principalId) continue;
      this.remove(entry);
      if (entry.announced) {
        this.options.emitLocal({
          kind: "abort",
          event: { id, sessionId, reason: "removed" },
          to: entry.to,
        });
      }
    }
  }

  /** Stops every timer (shutdown); the streams are forgotten. */
  clear(): void {
    for (const entry of this.streams.values()) clearTimeout(entry.timer);
    this.streams.clear();
    this.bySession.clear();
    this.bySender.clear();
    this.knownBySender.clear();
    this.early.clear();
    this.earlyBytes = 0;
  }

  /** Keeps a delta for a stream not known yet, within bounds of time and bytes. */
  private keepEarly(relay: StreamRelay & { kind: "delta" }): void {
    const now = Date.now();
    for (const [id, kept] of this.early) {
      if (now - kept.at < EARLY_MS) break;
      this.takeEarly(id);
    }
    const bytes = byteLength(relay.event.delta);
    if (this.earlyBytes + bytes > EARLY_MAX_BYTES) return;
    let kept = this.early.get(relay.event.id);
    if (!kept) {
      kept = { at: now, deltas: [] };
      this.early.set(relay.event.id, kept);
    }
    if (kept.deltas.length >= MAX_AHEAD) return;
    kept.deltas.push(relay);
    this.earlyBytes += bytes;
  }

  /** The deltas kept for `id` before its start, forgotten here. */
  private takeEarly(id: string): StreamRelay[] {
    const kept = this.early.get(id);
    if (!kept) return [];
    this.early.delete(id);
    for (const delta of kept.deltas) {
      if (delta.kind === "delta") this.earlyBytes -= byteLength(delta.event.delta);
    }
    return kept.deltas;
  }

  private add(
    start: StreamStartEvent,
    owner: StreamOwner,
    viaSocket: boolean,
    announced: boolean,
  ): OpenEntry {
    const entry: OpenEntry = {
      start,
      to: audienceOf(start),
      owner,
      viaSocket,
      announced,
      parts: [],
      bytes: 0,
      ahead: new Map(),
      aheadBytes: 0,
      lastActivity: Date.now(),
      timer: undefined,
      ending: false,
      tokens: this.options.deltasPerSecond * 2,
      refilledAt: performance.now(),
    };
    this.streams.set(start.id, entry);
    this.knownBySender.set(start.senderId, (this.knownBySender.get(start.senderId) ?? 0) + 1);
    let ids = this.bySession.get(start.sessionId);
    if (!ids) {
      ids = new Set();
      this.bySession.set(start.sessionId, ids);
    }
    ids.add(start.id);
    this.schedule(entry);
    return entry;
  }

  private remove(entry: OpenEntry): void {
    const { id, sessionId, senderId } = entry.start;
    clearTimeout(entry.timer);
    this.streams.delete(id);
    const ids = this.bySession.get(sessionId);
    ids?.delete(id);
    if (ids?.size === 0) this.bySession.delete(sessionId);
    const own = this.bySender.get(senderId);
    own?.delete(id);
    if (own?.size === 0) this.bySender.delete(senderId);
    const known = (this.knownBySender.get(senderId) ?? 1) - 1;
    if (known > 0) this.knownBySender.set(senderId, known);
    else this.knownBySender.delete(senderId);
  }

  /** How long the stream may go without a delta: its owner's idle time, others wait longer. */
  private idleLimit(entry: OpenEntry): number {
    return entry.owner === "remote" ? this.options.idleMs + REPLICA_GRACE_MS : this.options.idleMs;
  }

  /** One timer per stream, moved on only when it fires (a delta just stamps the time). */
  private schedule(entry: OpenEntry): void {
    const wait = Math.max(0, entry.lastActivity + this.idleLimit(entry) - Date.now());
    entry.timer = setTimeout(() => this.idle(entry), wait);
    entry.timer.unref?.();
  }

  private idle(entry: OpenEntry): void {
    if (this.streams.get(entry.start.id) !== entry) return;
    if (entry.ending || Date.now() - entry.lastActivity < this.idleLimit(entry)) {
      this.schedule(entry);
      return;
    }
    if (entry.owner === "here") {
      this.abortOwned(entry, "idle");
      return;
    }
    // Its owner is gone (or was a function that keeps nothing): every node ends it for itself.
    this.remove(entry);
    if (entry.announced) {
      this.options.emitLocal({
        kind: "abort",
        event: { id: entry.start.id, sessionId: entry.start.sessionId, reason: "idle" },
        to: entry.to,
      });
    }
  }

  private abortOwned(entry: OpenEntry, reason: string): void {
    this.options.publish({
      kind: "abort",
      event: { id: entry.start.id, sessionId: entry.start.sessionId, reason },
      to: entry.to,
    });
    // The relay removes it through `accept`; a publisher that delivers nothing here must not
    // leave it open.
    this.forget(entry);
  }
}
