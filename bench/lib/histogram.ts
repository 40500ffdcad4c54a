/**
 * A fixed-bucket latency histogram that merges by addition, so each worker records its own and
 * the orchestrator sums them. 10 µs steps up to 20 ms, 1 ms steps up to 1 s, 100 ms steps up to
 * 60 s, then one overflow bucket: exact enough for the p50 and p99 targets (3 ms, 20 ms, 50 ms).
 */
const FINE_US = 10;
const FINE_END_US = 20_000;
const MID_US = 1_000;
const MID_END_US = 1_000_000;
const COARSE_US = 100_000;
const COARSE_END_US = 60_000_000;

const FINE = FINE_END_US / FINE_US;
const MID = (MID_END_US - FINE_END_US) / MID_US;
const COARSE = (COARSE_END_US - MID_END_US) / COARSE_US;
export const BUCKETS = FINE + MID + COARSE + 1;

function bucketOf(us: number): number {
  if (us < FINE_END_US) return Math.max(0, Math.floor(us / FINE_US));
  if (us < MID_END_US) return FINE + Math.floor((us - FINE_END_US) / MID_US);
  if (us < COARSE_END_US) return FINE + MID + Math.floor((us - MID_END_US) / COARSE_US);
  return BUCKETS - 1;
}

/** The middle of a bucket, in ms. */
function bucketValue(bucket: number): number {
  let us: number;
  if (bucket < FINE) us = (bucket + 0.5) * FINE_US;
  else if (bucket < FINE + MID) us = FINE_END_US + (bucket - FINE + 0.5) * MID_US;
  else if (bucket < FINE + MID + COARSE) us = MID_END_US + (bucket - FINE - MID + 0.5) * COARSE_US;
  else us = COARSE_END_US;
  return us / 1000;
}

/** Sparse form for IPC: [bucket, count] pairs, plus the exact max. */
export interface HistogramData {
  pairs: Array<[number, number]>;
  count: number;
  maxMs: number;
  sumMs: number;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  maxMs = 0;
  sumMs = 0;

  record(ms: number): void {
    const bucket = bucketOf(ms * 1000);
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  merge(data: HistogramData): this {
    for (const [bucket, n] of data.pairs) this.counts[bucket] = (this.counts[bucket] ?? 0) + n;
    this.count += data.count;
    this.sumMs += data.sumMs;
    if (data.maxMs > this.maxMs) this.maxMs = data.maxMs;
    return this;
  }

  /** Milliseconds at quantile `q` (0–1); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(bucketValue(i), this.maxMs);
    }
    return this.maxMs;
  }

  toData(): HistogramData {
    const pairs: Array<[number, number]> = [];
    this.counts.forEach((n, i) => {
      if (n > 0) pairs.push([i, n]);
    });
    return { pairs, count: this.count, maxMs: this.maxMs, sumMs: this.sumMs };
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50Ms: round(this.quantile(0.5), 3),
      p90Ms: round(this.quantile(0.9), 3),
      p99Ms: round(this.quantile(0.99), 3),
      maxMs: round(this.maxMs, 3),
      meanMs: this.count ? round(this.sumMs / this.count, 3) : Number.NaN,
    };
  }
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * CLOCK_MONOTONIC in ms: one clock for every process on the machine, so a sender's stamp and a
 * receiver's reading in another process compare directly (Date.now() has only ms resolution).
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
