/** A token bucket: `ratePerSecond` sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = performance.now();
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = now;
  }

  /** True when a token is there to take; takes nothing (to check several buckets first). */
  ready(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  take(): boolean {
    if (!this.ready()) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until a token is there again (0 when one is). */
  waitSeconds(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerSecond;
  }

  /** A full bucket is the same as a new one, so a map may drop it. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }
}

/** Sustained rate and burst of one bucket. */
export interface BucketLimit {
  ratePerSecond: number;
  burst: number;
}

/** A limit of `n` per second with bursts of twice that, the house default shape. */
export function perSecond(n: number): BucketLimit {
  return { ratePerSecond: n, burst: n * 2 };
}

export interface BucketMapOptions {
  /** Milliseconds between sweeps that drop full (idle) buckets. Default 10,000. */
  sweepMs?: number;
  /** Most buckets kept; past it the least recently used go first. Default 100,000. */
  maxKeys?: number;
}

/**
 * Token buckets by key (principal, client address) whose memory stays bounded: idle buckets are
 * swept lazily, and past `maxKeys` the least recently used ones go, so a stream of new keys
 * (addresses rotated by a client) cannot grow the map without end.
 */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly sweepMs: number;
  private readonly maxKeys: number;
  private lastSweep = performance.now();

  constructor(
    private readonly limit: BucketLimit,
    options: BucketMapOptions = {},
  ) {
    this.sweepMs = options.sweepMs ?? 10_000;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** The key's bucket, created full when absent; touching it makes it the most recently used. */
  get(key: string): TokenBucket {
    this.maybeSweep();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
    } else {
      bucket = new TokenBucket(this.limit.ratePerSecond, this.limit.burst);
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  private maybeSweep(): void {
    const now = performance.now();
    if (now - this.lastSweep < this.sweepMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (bucket.full()) this.buckets.delete(key);
  }
}
