import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.js";
import { tokenSubject } from "./token.js";

describe("tokenSubject", () => {
  it("reads sub from a JWT (base64url, UTF-8, with or without Bearer) and gives undefined otherwise", () => {
    const encode = (claims: object) =>
      btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(claims))))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
    // "~~~>" encodes to base64 with "+" and "/", so this checks the base64url mapping.
    const tricky = encode({ sub: "u~~~>", pad: "??" });
    expect(tricky).toMatch(/[-_]/);
    expect(tokenSubject(`h.${tricky}.s`)).toBe("u~~~>");
    expect(tokenSubject(`Bearer h.${encode({ sub: "bot-ü.1" })}.s`)).toBe("bot-ü.1");
    expect(tokenSubject("not-a-jwt")).toBeUndefined();
    expect(tokenSubject("a.!!!.b")).toBeUndefined();
    expect(tokenSubject(undefined)).toBeUndefined();
  });
});

describe("Backoff", () => {
  it("doubles from minMs up to maxMs, spread by jitter, and starts over after reset", () => {
    const fixed = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0 });
    expect([1, 2, 3, 4, 5].map(() => fixed.next())).toEqual([100, 200, 400, 800, 1_000]);
    fixed.reset();
    expect(fixed.next()).toBe(100);
    const low = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0.5 }, () => 0);
    const high = new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0.5 }, () => 0.999);
    expect(low.next()).toBe(50);
    expect(high.next()).toBeGreaterThanOrEqual(149);
  });
});
