import { describe, expect, it } from "vitest";
import { nextReadMark } from "./read-mark.js";

describe("read marks", () => {
  it("marks the newest message shown, once, and only forwards", () => {
    expect(nextReadMark(0, 5, true)).toBe(5);
    expect(nextReadMark(5, 5, true)).toBeUndefined();
    expect(nextReadMark(7, 5, true)).toBeUndefined();
    expect(nextReadMark(5, 6, true)).toBe(6);
  });

  it("marks nothing while the page is hidden or nothing is shown", () => {
    expect(nextReadMark(0, 5, false)).toBeUndefined();
    expect(nextReadMark(0, undefined, true)).toBeUndefined();
  });
});
