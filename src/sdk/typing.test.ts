import { describe, expect, it } from "vitest";
import { TypingThrottle } from "./typing.js";

describe("TypingThrottle", () => {
  it("sends a start per refresh interval while typing, and a stop only after a start", () => {
    let now = 0;
    const sent: string[] = [];
    const typing = new TypingThrottle({
      send: (sessionId, state) => sent.push(`${sessionId}:${state}`),
      now: () => now,
      refreshMs: 3_000,
    });
    typing.set("s", false);
    typing.set("s", true);
    now = 2_999;
    typing.set("s", true);
    now = 3_000;
    typing.set("s", true);
    typing.set("s", false);
    typing.set("s", false);
    typing.set("s", true);
    typing.forget("s");
    typing.set("s", true);
    expect(sent).toEqual(["s:start", "s:start", "s:stop", "s:start", "s:start"]);
  });
});
