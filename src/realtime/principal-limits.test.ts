import { describe, expect, it } from "vitest";
import { PrincipalLimits } from "./principal-limits.js";

const limits = () =>
  new PrincipalLimits({
    maxSockets: 2,
    events: { ratePerSecond: 0.001, burst: 3 },
    messages: { ratePerSecond: 0.001, burst: 1 },
  });

describe("PrincipalLimits", () => {
  it("shares buckets between a principal's leases and drops them when the last lease goes", () => {
    const l = limits();
    const a = l.acquire({ id: "p", kind: "agent" });
    const b = l.acquire({ id: "p", kind: "agent" });
    expect(l.acquire({ id: "p", kind: "agent" })).toBeUndefined();
    expect(a?.take("message")).toBe(true);
    // The message bucket is shared: the second socket finds it empty.
    expect(b?.take("message")).toBe(false);
    // A refused message took no event token: two events are left of three.
    expect([b?.take("ping"), a?.take("sync"), a?.take("ping")]).toEqual([true, true, false]);
    a?.release();
    a?.release();
    expect(l.size).toBe(1);
    b?.release();
    expect(l.size).toBe(0);
    // A fresh entry after the last one left: full buckets again.
    expect(l.acquire({ id: "p", kind: "agent" })?.take("message")).toBe(true);
  });

  it("keys by kind and id", () => {
    const l = limits();
    l.acquire({ id: "same", kind: "agent" });
    l.acquire({ id: "same", kind: "agent" });
    expect(l.acquire({ id: "same", kind: "agent" })).toBeUndefined();
    expect(l.acquire({ id: "same", kind: "user" })).toBeDefined();
    expect(l.size).toBe(2);
  });

  it("keeps a released lease's socket on its principal's buckets", () => {
    // The gate releases the place of a socket not yet connected a turn after the handshake
    // (another middleware may hold it longer); its events must still be counted, not refused.
    const l = limits();
    const a = l.acquire({ id: "p", kind: "agent" });
    a?.release();
    expect([a?.take("ping"), a?.take("ping"), a?.take("ping"), a?.take("ping")]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(a?.waitSeconds("ping")).toBeGreaterThan(0);
  });
});
