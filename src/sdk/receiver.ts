/**
 * Per-session ordering, deduplication and gap filling. Live `message` events may arrive out of
 * order, twice around reconnects, or not at all (PROTOCOL.md section 5); this turns them, plus
 * join catch-ups and `sync` pages, into one stream per session: each `seq` once, ascending, no
 * holes. A hole (a `seq` past the next expected one, or a `session:head` ahead of what was
 * delivered) is given `gapWaitMs` to close by itself, since out-of-order live delivery is normal,
 * and then filled with `sync`, page by page.
 *
 * A page read forwards is the truth about the seqs it spans: a seq it does not hold is not for
 * this reader (a direct message between two others, PROTOCOL.md section 6), so it is skipped,
 * never waited for.
 */
import type { StoredMessage } from "../protocol/schemas.js";
import { GatewayNetworkError, isRetryable } from "./errors.js";

export interface Page {
  messages: StoredMessage[];
  headSeq: number;
  hasMore: boolean;
}

export interface ReceiverOptions {
  /** Hands one message, in order, to the application. */
  deliver: (message: StoredMessage) => void;
  /** Fetches the messages after `afterSeq` (the `sync` event). */
  fetchPage: (sessionId: string, afterSeq: number) => Promise<Page>;
  /** How long a hole may stay open before it is filled with `sync`, in ms. */
  gapWaitMs: number;
  /** How long to wait before filling again after a failed `sync`, in ms. */
  retryMs: number;
  onError: (error: unknown, sessionId: string) => void;
}

interface Stream {
  /** Last delivered seq; undefined until the join tells where delivery starts. */
  delivered: number | undefined;
  /** Messages ahead of `delivered + 1`, waiting for the hole before them; null: a seq to skip. */
  ahead: Map<number, StoredMessage | null>;
  /** The newest seq known to exist. */
  head: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  filling: boolean;
  /** Another fill was asked for while one ran. */
  again: boolean;
}

export class Receiver {
  private streams = new Map<string, Stream>();
  private stopped = false;

  constructor(private readonly options: ReceiverOptions) {}

  /**
   * Starts a stream. With `delivered` unknown (a first join without `lastSeq`) messages are held
   * until `setStart` says where delivery begins, so nothing broadcast before the join's answer
   * is lost.
   */
  track(sessionId: string, delivered?: number): void {
    if (this.streams.has(sessionId)) return;
    this.streams.set(sessionId, {
      delivered,
      ahead: new Map(),
      head: delivered ?? 0,
      timer: undefined,
      filling: false,
      again: false,
    });
  }

  untrack(sessionId: string): void {
    const stream = this.streams.get(sessionId);
    if (stream) clearTimeout(stream.timer);
    this.streams.delete(sessionId);
  }

  has(sessionId: string): boolean {
    return this.streams.has(sessionId);
  }

  /** The last seq delivered, or undefined when the start is not known yet. */
  delivered(sessionId: string): number | undefined {
    return this.streams.get(sessionId)?.delivered;
  }

  /** Sets where delivery starts (the join's `headSeq`) and releases what is held after it. */
  setStart(sessionId: string, seq: number): void {
    const stream = this.streams.get(sessionId);
    if (!stream || stream.delivered !== undefined) return;
    stream.delivered = seq;
    for (const held of stream.ahead.keys()) if (held <= seq) stream.ahead.delete(held);
    stream.head = Math.max(stream.head, seq);
    this.drain(sessionId, stream);
  }

  /** A message from any source: live, a join catch-up, a sync page or the local echo. */
  ingest(message: StoredMessage): void {
    this.hold(message.sessionId, message.seq, message);
  }

  /** A seq that is not for this reader (`message:hidden`): skipped, never waited for. */
  skip(sessionId: string, seq: number): void {
    this.hold(sessionId, seq, null);
  }

  private hold(sessionId: string, seq: number, message: StoredMessage | null): void {
    const stream = this.streams.get(sessionId);
    if (!stream) return;
    if (stream.delivered !== undefined && seq <= stream.delivered) return;
    // A message wins over a skip for the same seq (it can only be for us after all).
    if (message === null && stream.ahead.get(seq)) return;
    stream.ahead.set(seq, message);
    stream.head = Math.max(stream.head, seq);
    this.drain(sessionId, stream);
  }

  /**
   * A page read forwards from `afterSeq` (a `sync` answer or a join's catch-up): its messages,
   * and every seq it spans but does not hold is skipped. It spans up to its last message when
   * cut (`hasMore`), else up to its `headSeq`.
   */
  page(sessionId: string, afterSeq: number, page: Page): void {
    for (const message of page.messages) this.ingest(message);
    const stream = this.streams.get(sessionId);
    // Only a page that starts where delivery stands (or before) can prove what is missing.
    if (!stream || stream.delivered === undefined || afterSeq > stream.delivered) return;
    const spans = page.hasMore ? (page.messages.at(-1)?.seq ?? afterSeq) : page.headSeq;
    stream.head = Math.max(stream.head, page.headSeq);
    if (spans <= stream.delivered) return;
    // Whatever is held up to there goes out first, in order (a page is read after everything up
    // to its head was committed, so nothing visible can be missing from it).
    for (const seq of [...stream.ahead.keys()].sort((a, b) => a - b)) {
      if (seq > spans) break;
      const held = stream.ahead.get(seq);
      stream.ahead.delete(seq);
      stream.delivered = seq;
      if (held) this.options.deliver(held);
      if (this.streams.get(sessionId) !== stream) return;
    }
    stream.delivered = spans;
    this.drain(sessionId, stream);
  }

  /** Learns that `seq` exists (a `session:head` event or a join's `headSeq`). */
  head(sessionId: string, seq: number, immediately = false): void {
    const stream = this.streams.get(sessionId);
    if (!stream) return;
    stream.head = Math.max(stream.head, seq);
    this.checkGap(sessionId, stream, immediately);
  }

  /** Fills every hole of `sessionId` now. */
  fill(sessionId: string): Promise<void> {
    const stream = this.streams.get(sessionId);
    return stream ? this.runFill(sessionId, stream) : Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.streams.values()) clearTimeout(stream.timer);
    this.streams.clear();
  }

  private drain(sessionId: string, stream: Stream): void {
    if (stream.delivered === undefined) return;
    for (let seq = stream.delivered + 1; stream.ahead.has(seq); seq++) {
      const next = stream.ahead.get(seq);
      stream.ahead.delete(seq);
      stream.delivered = seq;
      if (!next) continue;
      this.options.deliver(next);
      // The application's listener may have left the session.
      if (this.streams.get(sessionId) !== stream) return;
    }
    this.checkGap(sessionId, stream, false);
  }

  private checkGap(sessionId: string, stream: Stream, immediately: boolean): void {
    if (stream.delivered === undefined || stream.head <= stream.delivered) {
      clearTimeout(stream.timer);
      stream.timer = undefined;
      return;
    }
    if (immediately) {
      void this.runFill(sessionId, stream);
      return;
    }
    stream.timer ??= setTimeout(() => {
      stream.timer = undefined;
      void this.runFill(sessionId, stream);
    }, this.options.gapWaitMs);
  }

  private async runFill(sessionId: string, stream: Stream): Promise<void> {
    if (stream.filling) {
      stream.again = true;
      return;
    }
    clearTimeout(stream.timer);
    stream.timer = undefined;
    stream.filling = true;
    try {
      do {
        stream.again = false;
        while (
          !this.stopped &&
          this.streams.get(sessionId) === stream &&
          stream.delivered !== undefined &&
          stream.head > stream.delivered
        ) {
          const before = stream.delivered;
          const page = await this.options.fetchPage(sessionId, before);
          this.page(sessionId, before, page);
          // The table is the truth: what the head promised but no page holds does not exist
          // (a head from a newer node than the one that answered); a loop must never spin on it.
          if (!page.hasMore && stream.delivered === before) {
            stream.head = stream.delivered ?? stream.head;
            break;
          }
        }
      } while (stream.again && this.streams.get(sessionId) === stream);
    } catch (error) {
      // Offline: the rejoin after the reconnect catches up from `delivered`. Anything else is
      // reported, and tried again later when trying again can help.
      if (!(error instanceof GatewayNetworkError)) {
        this.options.onError(error, sessionId);
        if (isRetryable(error) && !this.stopped && this.streams.get(sessionId) === stream) {
          stream.timer ??= setTimeout(() => {
            stream.timer = undefined;
            void this.runFill(sessionId, stream);
          }, this.options.retryMs);
        }
      }
    } finally {
      stream.filling = false;
    }
  }
}
