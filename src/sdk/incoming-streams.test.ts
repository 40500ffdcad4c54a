import { describe, expect, it } from "vitest";
import type { StreamStartEvent } from "../protocol/streams.js";
import { IncomingStreams, type StreamUpdate } from "./incoming-streams.js";

const start = (id = "st1", sessionId = "s1"): StreamStartEvent => ({
  id,
  sessionId,
  senderId: "bot",
  senderKind: "agent",
  senderName: "Bot",
  type: "markdown",
  visibility: "session",
  startedAt: 1,
});
const delta = (index: number, text: string, id = "st1") => ({
  id,
  sessionId: "s1",
  senderId: "bot",
  index,
  delta: text,
});

function tracker(own: string[] = []) {
  const updates: StreamUpdate[] = [];
  const streams = new IncomingStreams({
    emit: (u) => updates.push(u),
    isOwn: (id) => own.includes(id),
  });
  return { streams, updates, texts: () => updates.map((u) => `${u.state}:${u.content}`) };
}

describe("incoming streams", () => {
  it("reports the whole text so far on start, on each delta, and on abort", () => {
    const { streams, texts, updates } = tracker();
    streams.start(start());
    streams.delta(delta(0, "Hel"));
    streams.delta(delta(1, "lo"));
    streams.delta(delta(1, "lo")); // a repeat changes nothing
    streams.abort({ id: "st1", sessionId: "s1", reason: "sender" });
    expect(texts()).toEqual(["open:", "open:Hel", "open:Hello", "aborted:Hello"]);
    expect(updates.at(-1)).toMatchObject({ reason: "sender", senderName: "Bot", nextIndex: 2 });
    expect(streams.list("s1")).toEqual([]);
  });

  it("keeps the text shown when the sender re-opens, until index 0 replaces it", () => {
    const { streams, texts } = tracker();
    streams.start(start());
    streams.delta(delta(0, "ab"));
    streams.start(start());
    streams.delta(delta(0, "abcd"));
    streams.delta(delta(1, "e"));
    expect(texts()).toEqual(["open:", "open:ab", "open:abcd", "open:abcde"]);
  });

  it("fills from a join answer and applies deltas that came before it on top", () => {
    const { streams, texts } = tracker(["mine"]);
    streams.delta(delta(2, "c")); // before the join's answer
    streams.delta(delta(3, "d"));
    streams.joined("s1", [
      { ...start(), content: "ab", nextIndex: 2 },
      { ...start("mine"), content: "x", nextIndex: 1 },
    ]);
    expect(texts()).toEqual(["open:ab", "open:abcd"]);
    streams.delta(delta(4, "e"));
    expect(streams.list("s1").map((s) => s.content)).toEqual(["abcde"]);
  });

  it("reports a stream gone after a rejoin that no longer lists it, and forgets ended ones", () => {
    const { streams, texts } = tracker();
    streams.start(start("a"));
    streams.start(start("b"));
    streams.ended("b");
    streams.joined("s1", []);
    expect(texts()).toEqual(["open:", "open:", "aborted:"]);
    expect(streams.list("s1")).toEqual([]);
  });
});
