/**
 * The outbox: every message from `send()` until the server acknowledges it or refuses it for
 * good. Bounded; at the limit a new `send()` is rejected with `OutboxFullError` and nothing is
 * queued, because dropping the oldest entry would silently lose a message its sender believes
 * is on its way. Entries are mirrored to an `OutboxStorage`, so a persistent one (localStorage)
 * carries them across a reload; entries restored that way have no promise to settle and report
 * through the client's `sent` and `sendFailed` events instead.
 */
import type { AppendResult, MessageInput } from "../protocol/schemas.js";
import { OutboxFullError } from "./errors.js";
import type { OutboxEntry, OutboxStorage } from "./storage.js";

export interface OutboxOptions {
  storage: OutboxStorage;
  /** Most entries held, in flight included. */
  maxSize: number;
  namespace: string;
  onStorageError: (error: unknown) => void;
}

interface Waiter {
  promise: Promise<AppendResult>;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export class Outbox {
  /** In send order; entries being sent stay here until they settle. */
  private queue: OutboxEntry[] = [];
  private inflight = new Set<string>();
  private waiters = new Map<string, Waiter>();
  private wakers: Array<() => void> = [];
  private lastOrder = 0;
  private principalId: string | undefined;
  private restored = false;
  private storageTail: Promise<void>;
  private openStorage!: () => void;

  constructor(private readonly options: OutboxOptions) {
    // Storage writes wait for restore(): it learns the principal the entries are stamped with,
    // and reading must come before any write of this client's entries.
    this.storageTail = new Promise((resolve) => {
      this.openStorage = resolve;
    });
  }

  /** Entries held, in flight included. */
  get size(): number {
    return this.queue.length;
  }

  /** Ids of the held entries, in send order. */
  ids(): string[] {
    return this.queue.map((e) => e.id);
  }

  /**
   * Reads the stored entries of this principal and namespace and queues them ahead of anything
   * sent since the client started. Returns how many were restored. Call once.
   */
  async restore(principalId: string | undefined): Promise<number> {
    if (this.restored) return 0;
    this.restored = true;
    this.principalId = principalId;
    let loaded: OutboxEntry[] = [];
    try {
      loaded = await this.options.storage.load();
    } catch (error) {
      this.options.onStorageError(error);
    }
    const held = new Set(this.ids());
    const mine = loaded
      .filter(
        (e) =>
          e.namespace === this.options.namespace &&
          (e.principalId === undefined ||
            principalId === undefined ||
            e.principalId === principalId) &&
          !held.has(e.id),
      )
      .sort((a, b) => a.order - b.order);
    for (const entry of this.queue) entry.principalId ??= principalId;
    this.queue = [...mine, ...this.queue];
    for (const entry of loaded) this.lastOrder = Math.max(this.lastOrder, entry.order);
    this.openStorage();
    this.notify();
    return mine.length;
  }

  /**
   * Queues a message (or, with `extra.event`, a stream's end); the promise settles with the
   * server's final answer.
   */
  add(
    message: MessageInput,
    extra?: Pick<OutboxEntry, "event" | "visibility">,
  ): Promise<AppendResult> {
    const waiting = this.waiters.get(message.id);
    if (waiting) return waiting.promise;
    // Sending an id that was restored from storage adopts that entry instead of queueing twice.
    const held = this.queue.find((e) => e.id === message.id);
    if (!held && this.queue.length >= this.options.maxSize) {
      return Promise.reject(new OutboxFullError(this.options.maxSize));
    }
    const waiter = deferred();
    this.waiters.set(message.id, waiter);
    if (!held) {
      const entry: OutboxEntry = {
        id: message.id,
        message,
        order: this.nextOrder(),
        enqueuedAt: Date.now(),
        namespace: this.options.namespace,
        ...extra,
      };
      if (this.principalId !== undefined) entry.principalId = this.principalId;
      this.queue.push(entry);
      this.persist(() => this.options.storage.put(entry));
      this.notify();
    }
    return waiter.promise;
  }

  /** The oldest entry not in flight, now marked in flight; undefined when there is none. */
  takeNext(): OutboxEntry | undefined {
    const entry = this.queue.find((e) => !this.inflight.has(e.id));
    if (entry) this.inflight.add(entry.id);
    return entry;
  }

  /** The server stored it (or had already): drop it and resolve its promise. */
  complete(id: string, result: AppendResult): void {
    if (!this.remove(id)) return;
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    waiter?.resolve(result);
  }

  /** The server refused it for good: drop it and reject its promise. */
  fail(id: string, error: unknown): void {
    if (!this.remove(id)) return;
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    waiter?.reject(error);
  }

  /** Whether a promise is waiting on this entry (restored entries have none). */
  hasWaiter(id: string): boolean {
    return this.waiters.has(id);
  }

  /**
   * Rejects every waiting promise (close, or a final failure). Entries stay in storage, so a
   * later client built on the same persistent storage sends them.
   */
  rejectAll(error: unknown): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
    this.queue = [];
    this.inflight.clear();
    this.notify();
  }

  /** Resolves at the next change (an entry added or restored), or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const wake = () => {
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.wakers.push(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  /** Resolves when every storage write queued so far is done. */
  async flushStorage(): Promise<void> {
    if (!this.restored) return;
    await this.storageTail;
  }

  private remove(id: string): OutboxEntry | undefined {
    const index = this.queue.findIndex((e) => e.id === id);
    this.inflight.delete(id);
    if (index < 0) return undefined;
    const [entry] = this.queue.splice(index, 1);
    this.persist(() => this.options.storage.delete(id));
    return entry;
  }

  private persist(op: () => void | Promise<void>): void {
    this.storageTail = this.storageTail.then(op).catch((error: unknown) => {
      this.options.onStorageError(error);
    });
  }

  private nextOrder(): number {
    // Time-based, so entries queued after a reload sort after the ones stored before it.
    this.lastOrder = Math.max(this.lastOrder + 1, Date.now() * 1000);
    return this.lastOrder;
  }

  private notify(): void {
    for (const wake of this.wakers.splice(0)) wake();
  }
}

function deferred(): Waiter {
  let resolve!: Waiter["resolve"];
  let reject!: Waiter["reject"];
  const promise = new Promise<AppendResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A send whose caller dropped the promise must not crash the process on rejection; callers
  // that await it still see the error.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
