import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExpirySweep } from "./expiry.js";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function sweep() {
  const expired: Array<[string, number]> = [];
  const s = new ExpirySweep<string>((item) => expired.push([item, Date.now() - T0]));
  return { s, expired };
}

describe("ExpirySweep", () => {
  it("expires each item at its second, never before, with one timer for all of them", () => {
    const { s, expired } = sweep();
    s.add("b", T0 + 2_000);
    s.add("a", T0 + 1_000);
    s.add("a2", T0 + 1_000);
    s.add("c", T0 + 3_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([
      ["a", 1_000],
      ["a2", 1_000],
    ]);
    vi.advanceTimersByTime(2_000);
    expect(expired.map(([item]) => item)).toEqual(["a", "a2", "b", "c"]);
    expect(expired.at(-1)).toEqual(["c", 3_000]);
    expect(s.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rounds an expiry within a second up, so nothing expires early", () => {
    const { s, expired } = sweep();
    s.add("x", T0 + 1_200);
    vi.advanceTimersByTime(1_999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([["x", 2_000]]);
  });

  it("does not expire an item deleted before its time", () => {
    const { s, expired } = sweep();
    s.add("gone", T0 + 1_000);
    s.add("kept", T0 + 1_000);
    s.delete("gone", T0 + 1_000);
    s.delete("never-added", T0 + 5_000);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([["kept", 1_000]]);
  });

  it("re-arms for an earlier expiry added later, and expires a past one at the next turn", () => {
    const { s, expired } = sweep();
    s.add("late", T0 + 60_000);
    s.add("soon", T0 + 1_000);
    s.add("past", T0 - 5_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(0);
    expect(expired).toEqual([["past", 0]]);
    vi.advanceTimersByTime(1_000);
    expect(expired.at(-1)).toEqual(["soon", 1_000]);
    vi.advanceTimersByTime(59_000);
    expect(expired.at(-1)).toEqual(["late", 60_000]);
  });

  it("waits past setTimeout's largest delay without firing early", () => {
    const { s, expired } = sweep();
    const far = 40 * 24 * 3600 * 1000; // 40 days, beyond 2^31 - 1 ms
    s.add("far", T0 + far);
    vi.advanceTimersByTime(2_147_483_647);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(far - 2_147_483_647);
    expect(expired).toEqual([["far", far]]);
  });

  it("keeps the heap in order through many adds and deletes", () => {
    const { s, expired } = sweep();
    const times = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 200) + 1);
    for (const t of times) s.add(`i${t}`, T0 + t * 1_000);
    for (const t of times.filter((t) => t % 3 === 0)) s.delete(`i${t}`, T0 + t * 1_000);
    vi.advanceTimersByTime(200_000);
    const at = expired.map(([, ms]) => ms);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(expired.length).toBe(200 - 66);
    expect(expired.every(([item, ms]) => item === `i${ms / 1_000}`)).toBe(true);
  });

  it("lets an expiry handler delete the item it is called for", () => {
    const seen: string[] = [];
    const s: ExpirySweep<string> = new ExpirySweep((item) => {
      seen.push(item);
      s.delete(item, T0 + 1_000);
    });
    s.add("a", T0 + 1_000);
    s.add("b", T0 + 1_000);
    vi.advanceTimersByTime(1_000);
    expect(seen).toEqual(["a", "b"]);
  });
});
