/**
 * Where the outbox keeps messages that are not acknowledged yet. The in-memory default lives as
 * long as the object does (share one between clients in a process to hand entries over); the
 * localStorage one survives a page reload, so a message typed offline is sent after it.
 */
import type { MessageInput } from "../protocol/schemas.js";

export interface OutboxEntry {
  /** The message id, which is the server's idempotency key. */
  id: string;
  message: MessageInput;
  /** Queue position: entries are sent in ascending order. */
  order: number;
  /** When `send()` was called, ms since epoch. */
  enqueuedAt: number;
  /** The token's `sub` that queued it, when known: a client of another principal skips it. */
  principalId?: string;
  /** The namespace that queued it: a client of the other namespace skips it. */
  namespace: string;
  /** `stream:end`: the end of a stream (`client.stream()`), acked like a message. */
  event?: "stream:end";
  /** The stream's visibility, for a `stream:end`. */
  visibility?: "session" | "direct";
}

/**
 * A persistent store for outbox entries. Methods may be synchronous or return promises; the
 * outbox calls them one at a time, in order, so an entry's `delete` never overtakes its `put`.
 */
export interface OutboxStorage {
  /** Every stored entry, in any order (the outbox sorts by `order`). */
  load(): OutboxEntry[] | Promise<OutboxEntry[]>;
  put(entry: OutboxEntry): void | Promise<void>;
  delete(id: string): void | Promise<void>;
}

/** Entries kept in a Map: lost with the process, shared by the clients given the same object. */
export function memoryOutboxStorage(): OutboxStorage {
  const entries = new Map<string, OutboxEntry>();
  return {
    load: () => [...entries.values()].map((e) => structuredClone(e)),
    put: (entry) => {
      entries.set(entry.id, structuredClone(entry));
    },
    delete: (id) => {
      entries.delete(id);
    },
  };
}

/** The subset of the Web Storage API used, so tests and other stores can stand in. */
export interface WebStorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface LocalStorageOutboxOptions {
  /**
   * Prefix of the keys. Each entry is one item `<key>:<message id>`, so a put or delete touches
   * one small item instead of rewriting the whole queue. Default `"tkr-outbox"`.
   */
  key?: string;
  /** The store to use. Default `globalThis.localStorage`. */
  storage?: WebStorageLike;
}

/**
 * Entries in `localStorage`, surviving reloads. Tabs of the same origin share them: two tabs may
 * both send an entry, which is safe because the server deduplicates by message id. Writes can
 * throw (quota, private mode); the outbox then keeps the entry in memory and reports an `error`.
 */
export function localStorageOutbox(options: LocalStorageOutboxOptions = {}): OutboxStorage {
  const prefix = `${options.key ?? "tkr-outbox"}:`;
  const store = () => {
    const s = options.storage ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (!s) throw new Error("localStorage is not available here");
    return s;
  };
  return {
    load() {
      const s = store();
      const found: OutboxEntry[] = [];
      for (let i = 0; i < s.length; i++) {
        const key = s.key(i);
        if (!key?.startsWith(prefix)) continue;
        try {
          const entry = JSON.parse(s.getItem(key) ?? "null") as OutboxEntry | null;
          if (entry && typeof entry.id === "string" && entry.message) found.push(entry);
        } catch {
          // A corrupt item (edited by hand, truncated write) must not block the rest.
        }
      }
      return found;
    },
    put(entry) {
      store().setItem(prefix + entry.id, JSON.stringify(entry));
    },
    delete(id) {
      store().removeItem(prefix + id);
    },
  };
}
