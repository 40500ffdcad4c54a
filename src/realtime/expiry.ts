/**
 * One timer per node for token expiry instead of one per socket. Sockets are grouped by the
 * second their token expires in (JWT `exp` is whole seconds, so a group is exact), and a single
 * timer is armed for the earliest group; each socket then costs a set entry, not a timer and a
 * closure. A group fires at its second, never before, as the per-socket timers did.
 */

/** setTimeout's largest delay; a later first expiry re-arms when it fires. */
const MAX_TIMER_MS = 2_147_483_647;
const GROUP_MS = 1_000;

export class ExpirySweep<T> {
  private readonly groups = new Map<number, Set<T>>();
  /** Group times waiting for the timer, a binary min-heap; each time appears once. */
  private readonly heap: number[] = [];
  private readonly queued = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly expire: (item: T) => void) {}

  /** Sockets waiting to expire. */
  get size(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.size;
    return n;
  }

  /** Expires `item` at `expiresAt` (ms since epoch), or at the next turn when that has passed. */
  add(item: T, expiresAt: number): void {
    const at = groupOf(expiresAt);
    let group = this.groups.get(at);
    if (!group) {
      group = new Set();
      this.groups.set(at, group);
    }
    group.add(item);
    if (!this.queued.has(at)) {
      this.queued.add(at);
      push(this.heap, at);
    }
    if (at < this.armedFor) this.arm();
  }

  /** Forgets `item` (its socket went away first); `expiresAt` as given to `add`. */
  delete(item: T, expiresAt: number): void {
    const at = groupOf(expiresAt);
    const group = this.groups.get(at);
    if (!group) return;
    group.delete(item);
    // The heap keeps the time; the timer finds no group there and moves on.
    if (group.size === 0) this.groups.delete(at);
  }

  /** Stops the timer; nothing expires afterwards. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.NEGATIVE_INFINITY;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const first = this.heap[0];
    if (first === undefined) {
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    this.armedFor = first;
    const delay = Math.min(Math.max(0, first - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.fire(), delay);
    // Open sockets keep the process alive, not their expiry.
    this.timer.unref();
  }

  private fire(): void {
    const now = Date.now();
    for (let first = this.heap[0]; first !== undefined && first <= now; first = this.heap[0]) {
      pop(this.heap);
      this.queued.delete(first);
      const group = this.groups.get(first);
      if (!group) continue;
      // Removed before expiring: a disconnect handler's `delete` then finds nothing to do.
      this.groups.delete(first);
      for (const item of group) this.expire(item);
    }
    this.arm();
  }
}

function groupOf(expiresAt: number): number {
  return Math.ceil(expiresAt / GROUP_MS) * GROUP_MS;
}

function push(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const above = heap[parent] as number;
    if (above <= value) break;
    heap[i] = above;
    i = parent;
  }
  heap[i] = value;
}

function pop(heap: number[]): void {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child =
      right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
    if ((heap[child] as number) >= last) break;
    heap[i] = heap[child] as number;
    i = child;
  }
  heap[i] = last;
}
