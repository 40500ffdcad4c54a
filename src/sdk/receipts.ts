/**
 * Receipts in the SDK (PROTOCOL.md `receipt`). The client reports `delivered` by itself for
 * every message it hands to the app, and `read` when the app calls `markRead`; both coalesced to
 * at most one event per session and kind per `intervalMs` (the server writes a member at most
 * once a second anyway), and what is still unreported when the connection drops is reported
 * after the rejoin. It also keeps every member's watermarks per joined session, from the join
 * ack and the `receipt` events, keeping the greatest value per field (events from different
 * nodes may arrive out of order).
 */
import type { MemberReceipt, ReceiptEvent, ReceiptKind } from "../protocol/schemas.js";

/** Least time between two receipts of one kind for one session. */
export const RECEIPT_INTERVAL_MS = 1_000;

export interface ReceiptsOptions {
  /** Sends one receipt; resolves with the caller's watermarks, rejects when it was not taken. */
  send(
    sessionId: string,
    seq: number,
    kind: ReceiptKind,
  ): Promise<{ delivered: number; read: number }>;
  /** True while receipts for the session can go out (connected, joined). */
  canSend(sessionId: string): boolean;
  /** Who this client is, once known (its own watermarks come from the acks too). */
  self(): string | undefined;
  /** A member's watermarks moved. */
  onReceipt(event: ReceiptEvent): void;
  intervalMs?: number;
}

interface Pending {
  /** Highest seq to report, and the highest the server confirmed. */
  want: number;
  sent: number;
  /** The seq of the report awaiting its ack, 0 when none. */
  inflight: number;
  lastSentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface SessionState {
  members: Map<string, { delivered: number; read: number }>;
  delivered: Pending;
  read: Pending;
}

const pending = (): Pending => ({
  want: 0,
  sent: 0,
  inflight: 0,
  lastSentAt: 0,
  timer: undefined,
});

export class Receipts {
  private readonly sessions = new Map<string, SessionState>();
  private readonly intervalMs: number;

  constructor(private readonly options: ReceiptsOptions) {
    this.intervalMs = options.intervalMs ?? RECEIPT_INTERVAL_MS;
  }

  /** Every member's watermarks in a joined session (empty before the join's answer). */
  list(sessionId: string): MemberReceipt[] {
    const state = this.sessions.get(sessionId);
    if (!state) return [];
    return [...state.members].map(([principalId, marks]) => ({ principalId, ...marks }));
  }

  /** The join's answer: every member's watermarks; then what is still unreported goes out. */
  joined(sessionId: string, receipts: MemberReceipt[] | undefined): void {
    const state = this.state(sessionId);
    for (const receipt of receipts ?? []) this.apply({ sessionId, ...receipt });
    const self = this.options.self();
    const own = self === undefined ? undefined : state.members.get(self);
    // The server may hold more than this client reported (another device) or less (reports
    // lost with the old connection): only what it lacks is sent again.
    for (const kind of ["delivered", "read"] as const) {
      const mark = state[kind];
      mark.sent = own?.[kind] ?? 0;
      if (mark.want > Math.max(mark.sent, mark.inflight)) this.schedule(sessionId, kind, true);
    }
  }

  /** A message of the session was handed to the app. */
  delivered(sessionId: string, seq: number): void {
    this.want(sessionId, "delivered", seq);
  }

  /** The app shows the session's messages up to `seq`. */
  markRead(sessionId: string, seq: number): void {
    this.want(sessionId, "read", seq);
  }

  /** A `receipt` event from the server. */
  event(event: ReceiptEvent): void {
    if (this.sessions.has(event.sessionId)) this.apply(event);
  }

  forget(sessionId: string): void {
    const state = this.sessions.get(sessionId);
    if (!state) return;
    clearTimeout(state.delivered.timer);
    clearTimeout(state.read.timer);
    this.sessions.delete(sessionId);
  }

  stop(): void {
    for (const id of [...this.sessions.keys()]) this.forget(id);
  }

  private state(sessionId: string): SessionState {
    let state = this.sessions.get(sessionId);
    if (!state) {
      state = { members: new Map(), delivered: pending(), read: pending() };
      this.sessions.set(sessionId, state);
    }
    return state;
  }

  private want(sessionId: string, kind: ReceiptKind, seq: number): void {
    const state = this.state(sessionId);
    const mark = state[kind];
    if (seq <= mark.want) return;
    mark.want = seq;
    this.schedule(sessionId, kind, false);
  }

  private schedule(sessionId: string, kind: ReceiptKind, now: boolean): void {
    const mark = this.sessions.get(sessionId)?.[kind];
    if (!mark || mark.timer) return;
    const wait = now ? 0 : mark.lastSentAt + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.flush(sessionId, kind);
      return;
    }
    mark.timer = setTimeout(() => {
      mark.timer = undefined;
      this.flush(sessionId, kind);
    }, wait);
  }

  private flush(sessionId: string, kind: ReceiptKind): void {
    const state = this.sessions.get(sessionId);
    if (!state) return;
    const mark = state[kind];
    // A read report covers delivered up to it: no need to send both.
    const covered = kind === "delivered" && state.read.want >= mark.want;
    if (mark.want <= Math.max(mark.sent, mark.inflight) || covered) return;
    if (!this.options.canSend(sessionId)) return;
    const seq = mark.want;
    mark.lastSentAt = Date.now();
    mark.inflight = seq;
    this.options.send(sessionId, seq, kind).then(
      (marks) => {
        if (this.sessions.get(sessionId) !== state) return;
        mark.inflight = 0;
        mark.sent = Math.max(mark.sent, seq);
        const self = this.options.self();
        if (self !== undefined) this.apply({ sessionId, principalId: self, ...marks });
        // More was asked for while this one was out.
        if (mark.want > mark.sent) this.schedule(sessionId, kind, false);
      },
      // Offline or refused: the rejoin after the reconnect sends what is still unreported.
      () => {
        mark.inflight = 0;
      },
    );
  }

  private apply(event: ReceiptEvent): void {
    const state = this.state(event.sessionId);
    const known = state.members.get(event.principalId) ?? { delivered: 0, read: 0 };
    const next = {
      delivered: Math.max(known.delivered, event.delivered, event.read),
      read: Math.max(known.read, event.read),
    };
    if (
      state.members.has(event.principalId) &&
      next.delivered === known.delivered &&
      next.read === known.read
    ) {
      return;
    }
    state.members.set(event.principalId, next);
    this.options.onReceipt({ sessionId: event.sessionId, principalId: event.principalId, ...next });
  }
}
