import { describe, expect, it } from "vitest";
import { BucketMap, TokenBucket } from "./rate-limit.js";

describe("TokenBucket", () => {
  it("says how long until the next token", () => {
    const bucket = new TokenBucket(2, 1);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    const wait = bucket.waitSeconds();
    expect(wait).toBeGreaterThan(0.4);
    expect(wait).toBeLessThanOrEqual(0.5);
  });
});

describe("BucketMap", () => {
  it("keeps at most maxKeys buckets, dropping the least recently used", () => {
    const map = new BucketMap({ ratePerSecond: 0.001, burst: 1 }, { maxKeys: 3 });
    map.get("a").take();
    map.get("b").take();
    map.get("c").take();
    map.get("a"); // touched: now "b" is the oldest
    map.get("d");
    expect(map.size).toBe(3);
    expect(map.get("a").take()).toBe(false); // kept, still empty
    expect(map.get("b").take()).toBe(true); // was dropped, comes back full
  });

  it("sweeps buckets that have refilled, since a full bucket equals a new one", () => {
    const map = new BucketMap({ ratePerSecond: 1_000_000, burst: 1 }, { sweepMs: 0 });
    for (let i = 0; i < 100; i++) map.get(`k${i}`).take();
    // Each refills within a microsecond; the next get sweeps them all.
    map.get("new");
    expect(map.size).toBeLessThan(100);
  });
});
