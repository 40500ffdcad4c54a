/**
 * Receipt watermarks (PROTOCOL.md `receipt`): per member of a session, the highest seq it
 * reported delivered and read. They never move backwards: here (the greater value wins), in the
 * database (`greatest` in every write) and across nodes (each node only ever raises what it
 * knows, and receivers keep the greater).
 *
 * A node coalesces: a receipt changes memory only, and a flush every `flushMs` writes every
 * member that moved since the last one in one statement, so a member costs at most one database
 * write per `flushMs` (default 1 s) whatever its clients send. The flushes run one at a time; a
 * failed one keeps its values for the next. A crash loses what was not flushed yet (up to
 * `flushMs` of receipts; clients report again as they read on). A process without timers of its
 * own (serverless) writes each receipt that moves at once (`mode: "direct"`).
 *
 * Broadcasts (`receipt`) are coalesced per member: the first move goes out at once, moves within
 * `broadcastMs` after it go out together when that time is up, with the values then.
 */
import type pg from "pg";
import {
  GatewayError,
  type MemberReceipt,
  type ReceiptEvent,
  type ReceiptPayload,
  type ReceiptResult,
} from "../protocol/index.js";
import {
  type MemberState,
  type ReceiptRow,
  readMemberState,
  readSessionReceipts,
  writeReceipts,
} from "./receipt-store.js";
import type { Principal } from "./types.js";

/** Rows in one flush statement at most; a larger flush sends several. */
const FLUSH_CHUNK = 5_000;
/** A member nobody reported for this long is forgotten (read again from the table when needed). */
const IDLE_MS = 5 * 60_000;
/** How often idle members are looked for. */
const EVICT_EVERY_MS = 30_000;

/**
 * What the transport already knows, so a receipt needs no database read: the caller's socket is
 * in the session's room (membership was checked when it joined, and a removal takes it out), and
 * the seq up to which this node's sockets know messages exist.
 */
export interface ReceiptHint {
  member: boolean;
  headSeq: number;
}

export interface ReceiptLedgerOptions {
  pool: pg.Pool;
  /** Announces a member's watermarks (best effort). */
  publish(event: ReceiptEvent): void;
  /** `coalesce` (a node): flush every `flushMs`. `direct` (serverless): write each move at once. */
  mode: "coalesce" | "direct";
  /** Milliseconds between flushes. Default 1,000. */
  flushMs?: number;
  /** Milliseconds between two broadcasts of one member's watermarks. Default 1,000. */
  broadcastMs?: number;
  /** Called once per write statement with the rows it carried (metrics). */
  onWrite?(rows: number): void;
  /** A flush failed; its values wait for the next. */
  onFlushError?(err: unknown): void;
}

export interface ReceiptLedger {
  record(caller: Principal, input: ReceiptPayload, hint?: ReceiptHint): Promise<ReceiptResult>;
  /** Every member's watermarks, stored merged with this node's; membership checked by the caller. */
  session(sessionId: string): Promise<MemberReceipt[]>;
  /** Another node's broadcast: raises what this node knows of that member. */
  observe(event: ReceiptEvent): void;
  /** This node's unflushed read watermarks of one principal, by session. */
  unflushedReads(principalId: string): Map<string, number>;
  /** Writes every unflushed watermark now. */
  flush(): Promise<void>;
  /** Stops the timer and flushes. */
  close(): Promise<void>;
}

interface Entry {
  sessionId: string;
  principalId: string;
  delivered: number;
  read: number;
  usedAt: number;
  lastBroadcastAt: number;
  trailing: NodeJS.Timeout | undefined;
}

const keyOf = (sessionId: string, principalId: string) => `${sessionId}\n${principalId}`;

export function createReceiptLedger(options: ReceiptLedgerOptions): ReceiptLedger {
  const { pool } = options;
  const broadcastMs = options.broadcastMs ?? 1_000;
  const known = new Map<string, Entry>();
  const dirty = new Set<Entry>();
  let flushing: Promise<void> | undefined;
  let closed = false;

  function entryFor(sessionId: string, principalId: string, delivered: number, read: number) {
    const key = keyOf(sessionId, principalId);
    let entry = known.get(key);
    if (!entry) {
      entry = {
        sessionId,
        principalId,
        delivered: 0,
        read: 0,
        usedAt: Date.now(),
        lastBroadcastAt: 0,
        trailing: undefined,
      };
      known.set(key, entry);
    }
    raise(entry, delivered, read);
    return entry;
  }

  /** Raises watermarks; true when either moved. `read` implies `delivered`. */
  function raise(
    entry: { delivered: number; read: number },
    delivered: number,
    read: number,
  ): boolean {
    const nextRead = Math.max(entry.read, read);
    const nextDelivered = Math.max(entry.delivered, delivered, nextRead);
    const moved = nextRead !== entry.read || nextDelivered !== entry.delivered;
    entry.read = nextRead;
    entry.delivered = nextDelivered;
    return moved;
  }

  const eventOf = (entry: Entry): ReceiptEvent => ({
    sessionId: entry.sessionId,
    principalId: entry.principalId,
    delivered: entry.delivered,
    read: entry.read,
  });

  function broadcast(entry: Entry) {
    if (entry.trailing) return;
    const wait = entry.lastBroadcastAt + broadcastMs - Date.now();
    if (wait <= 0) {
      entry.lastBroadcastAt = Date.now();
      options.publish(eventOf(entry));
      return;
    }
    entry.trailing = setTimeout(() => {
      entry.trailing = undefined;
      entry.lastBroadcastAt = Date.now();
      options.publish(eventOf(entry));
    }, wait);
    entry.trailing.unref();
  }

  function check(state: MemberState | undefined, sessionId: string, seq: number): MemberState {
    if (!state) throw new GatewayError("NOT_FOUND", `Session ${sessionId} does not exist`);
    if (!state.member) throw new GatewayError("FORBIDDEN", `Not a member of session ${sessionId}`);
    if (seq > state.head) {
      throw new GatewayError(
        "INVALID_PAYLOAD",
        `seq: ${seq} is past the session's newest message (${state.head})`,
      );
    }
    return state;
  }

  async function write(rows: ReceiptRow[]) {
    const stored = await writeReceipts(pool, rows);
    options.onWrite?.(rows.length);
    // What the table holds may be ahead of this node (another node wrote): learn it.
    for (const row of stored) {
      const entry = known.get(keyOf(row.sessionId, row.principalId));
      if (entry) raise(entry, row.delivered, row.read);
    }
  }

  async function runFlush() {
    const batch = [...dirty];
    dirty.clear();
    for (let i = 0; i < batch.length; i += FLUSH_CHUNK) {
      const chunk = batch.slice(i, i + FLUSH_CHUNK);
      try {
        await write(chunk.map(eventOf));
      } catch (err) {
        // Kept for the next flush: the values are still in memory and only ever rise.
        for (const entry of batch.slice(i)) dirty.add(entry);
        options.onFlushError?.(err);
        return;
      }
    }
  }

  let evictedAt = Date.now();
  /** Forgets members idle for a while (joins seed every member of a session). */
  function evictIdle() {
    const now = Date.now();
    if (now - evictedAt < EVICT_EVERY_MS) return;
    evictedAt = now;
    for (const [key, entry] of known) {
      if (entry.usedAt < now - IDLE_MS && !dirty.has(entry) && !entry.trailing) known.delete(key);
    }
  }

  function flush(): Promise<void> {
    if (flushing) return flushing.then(() => (dirty.size > 0 ? flush() : undefined));
    flushing = runFlush().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const timer =
    options.mode === "coalesce"
      ? setInterval(() => {
          // A flush still running (slow database) is not doubled: its members wait for the next.
          if (flushing) return;
          if (dirty.size > 0) void flush();
          evictIdle();
        }, options.flushMs ?? 1_000)
      : undefined;
  timer?.unref();

  return {
    async record(caller, { sessionId, seq, kind }, hint) {
      const delivered = kind === "delivered" ? seq : 0;
      const read = kind === "read" ? seq : 0;
      if (options.mode === "direct") {
        // Nothing kept between calls: a failed write must not look done to the next attempt.
        const state = check(await readMemberState(pool, sessionId, caller.id), sessionId, seq);
        const next: ReceiptEvent = {
          sessionId,
          principalId: caller.id,
          delivered: state.delivered,
          read: state.read,
        };
        if (raise(next, delivered, read)) {
          await write([next]);
          options.publish(next);
        }
        return { sessionId, delivered: next.delivered, read: next.read };
      }
      if (closed)
        throw new GatewayError("UNAVAILABLE", "This node is shutting down; send it again");
      let entry = known.get(keyOf(sessionId, caller.id));
      const cheap =
        hint?.member === true &&
        entry !== undefined &&
        seq <= Math.max(hint.headSeq, entry.delivered);
      if (!cheap) {
        const state = check(await readMemberState(pool, sessionId, caller.id), sessionId, seq);
        entry = entryFor(sessionId, caller.id, state.delivered, state.read);
      }
      const current = entry as Entry;
      current.usedAt = Date.now();
      if (raise(current, delivered, read)) {
        dirty.add(current);
        broadcast(current);
      }
      return { sessionId, delivered: current.delivered, read: current.read };
    },
    async session(sessionId) {
      const stored = await readSessionReceipts(pool, sessionId);
      return stored.map((row) => {
        const entry = entryFor(sessionId, row.principalId, row.delivered, row.read);
        return { principalId: row.principalId, delivered: entry.delivered, read: entry.read };
      });
    },
    observe(event) {
      const entry = known.get(keyOf(event.sessionId, event.principalId));
      if (entry) raise(entry, event.delivered, event.read);
    },
    unflushedReads(principalId) {
      const reads = new Map<string, number>();
      for (const entry of dirty) {
        if (entry.principalId === principalId) reads.set(entry.sessionId, entry.read);
      }
      return reads;
    },
    flush,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      // The sockets are gone by now: a coalesced broadcast would go nowhere.
      for (const entry of known.values()) clearTimeout(entry.trailing);
      await flush();
    },
  };
}
