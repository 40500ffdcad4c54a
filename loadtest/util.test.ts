import { createHmac } from "node:crypto";
import { jwtVerify } from "jose";
import { describe, expect, test } from "vitest";
import {
  base64url,
  decodeBase64url,
  envReader,
  jwtClaims,
  jwtSigningInput,
  parseDuration,
  pickNode,
  SeqTracker,
  safeId,
} from "./lib/util.js";

describe("loadtest util", () => {
  test("parses k6 durations and refuses anything else", () => {
    expect(parseDuration("1500ms")).toBe(1500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("2.5")).toBe(2500);
    for (const bad of ["", "fast", "10x", "5s later"]) expect(() => parseDuration(bad)).toThrow();
  });

  test("reads typed env settings and names a bad one", () => {
    const e = envReader({ N: "12", F: "0.5", L: "a, b,,c", B: "true", EMPTY: "", BAD: "1.5" });
    expect(e.int("N", 1)).toBe(12);
    expect(e.int("EMPTY", 7)).toBe(7);
    expect(e.num("F", 1)).toBe(0.5);
    expect(e.list("L")).toEqual(["a", "b", "c"]);
    expect(e.bool("B", false)).toBe(true);
    expect(e.ms("MISSING", "2s")).toBe(2000);
    expect(() => e.int("BAD", 1)).toThrow(/BAD must be an integer/);
  });

  test("encodes base64url like Node, for ASCII and multi-byte text", () => {
    for (const text of ["", "a", "ab", "abc", '{"alg":"HS256"}', "héllo 👋 日本"]) {
      expect(base64url(text)).toBe(Buffer.from(text, "utf8").toString("base64url"));
      expect(decodeBase64url(base64url(text))).toBe(text);
    }
  });

  test("builds a JWT signing input that verifies once signed with HMAC-SHA256", async () => {
    const secret = "s".repeat(40);
    const input = jwtSigningInput({ sub: "a.b:c", kind: "user", name: "Zoë" }, 1_000, 60);
    const token = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      currentDate: new Date(1_010_000),
    });
    expect(protectedHeader).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toEqual({ sub: "a.b:c", kind: "user", name: "Zoë", iat: 1_000, exp: 1_060 });
    expect(jwtClaims(token)).toEqual(payload);
  });

  test("tracks seqs: reordering is fine, repeats are duplicates, holes are gaps", () => {
    const t = new SeqTracker(10);
    expect(t.add(9)).toBe(false);
    expect(t.add(12)).toBe(true);
    expect(t.gaps()).toBe(1);
    expect(t.add(11)).toBe(true);
    expect(t.contiguous).toBe(12);
    expect(t.add(12)).toBe(false);
    expect(t.add(15)).toBe(true);
    expect(t.add(15)).toBe(false);
    expect(t.gaps()).toBe(2);
    expect(t.duplicates).toBe(3);
    expect(t.start).toBe(10);
    t.add(13);
    t.add(14);
    expect(t.gaps()).toBe(0);
    expect(t.contiguous).toBe(15);
  });

  test("spreads sockets over nodes, or over Fly machines with a forced instance header", () => {
    const local = { baseUrls: ["http://a", "http://b"], machines: [] };
    expect(pickNode(local, 3)).toEqual({ node: 1, baseUrl: "http://b", headers: {} });
    const fly = { baseUrls: ["https://x.fly.dev"], machines: ["m1", "m2", "m3"] };
    expect(pickNode(fly, 4)).toEqual({
      node: 1,
      baseUrl: "https://x.fly.dev",
      headers: { "fly-force-instance-id": "m2" },
    });
  });

  test("makes ids of the protocol's charset, at most 64 characters", () => {
    expect(safeId("run.1", 2, "a b")).toBe("run_1-2-a_b");
    const long = safeId("x".repeat(70), 5);
    expect(long).toHaveLength(64);
    expect(long.endsWith("-5")).toBe(true);
  });
});
