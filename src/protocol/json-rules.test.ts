import { describe, expect, it } from "vitest";
import {
  findJsonProblem,
  isStorableText,
  isStorableTextByLoop,
  MAX_JSON_DEPTH,
} from "./json-rules.js";

const samples: Array<[string, boolean]> = [
  ["", true],
  ["plain ascii", true],
  ["héllo 中文", true],
  ["\uD83D\uDE00 pair", true],
  ["\uD83D\uDE00", true],
  ["a\u0000b", false],
  ["\u0000", false],
  ["\uD800", false],
  ["x\uD800y", false],
  ["end\uDBFF", false],
  ["\uDC00start", false],
  ["\uDE00\uD83D", false],
  ["\uD83D\uD83D\uDE00", false],
];

describe("isStorableText", () => {
  it("refuses NUL and unpaired surrogates and accepts paired ones, native check and fallback alike", () => {
    for (const [text, storable] of samples) {
      expect([text, isStorableText(text)]).toEqual([text, storable]);
      expect([text, isStorableTextByLoop(text)]).toEqual([text, storable]);
    }
  });
});

describe("findJsonProblem", () => {
  it("names the path to a bad string, a bad key, or the level past the limit", () => {
    expect(findJsonProblem({ a: [1, { b: "x\u0000" }] })).toMatchObject({ path: ["a", 1, "b"] });
    expect(findJsonProblem({ a: { "k\uD800": 1 } })).toMatchObject({
      path: ["a", "k?"],
      message: expect.stringContaining("key"),
    });
    let value: unknown = {};
    for (let i = 1; i < MAX_JSON_DEPTH; i++) value = [value];
    expect(findJsonProblem(value)).toBeUndefined();
    expect(findJsonProblem([value])).toMatchObject({
      message: `nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect(findJsonProblem({ n: Number.POSITIVE_INFINITY })).toMatchObject({ path: ["n"] });
    expect(findJsonProblem({ ok: ["\uD83D\uDE00", null, true, 1.5, { x: "y" }] })).toBeUndefined();
  });

  it("walks a value nested a million levels deep without overflowing the stack", () => {
    let value: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) value = [value];
    expect(findJsonProblem(value)?.path).toHaveLength(MAX_JSON_DEPTH);
  });
});
