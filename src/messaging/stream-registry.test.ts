import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StreamRelay, StreamStartEvent } from "../protocol/index.js";
import { KNOWN_PER_OPEN, REPLICA_GRACE_MS, StreamRegistry } from "./stream-registry.js";

const IDLE = 1_000;

function start(id: string, senderId = "bot"): StreamStartEvent {
  return {
    id,
    sessionId: "s",
    senderId,
    senderKind: "agent",
    senderName: senderId,
    type: "text",
    visibility: "session",
    startedAt: 1,
  };
}

const delta = (id: string, index: number, text: string, senderId = "bot"): StreamRelay => ({
  kind: "delta",
  event: { id, sessionId: "s", senderId, index, delta: text },
});

const texts = (relays: StreamRelay[]) =>
  relays.map((r) => (r.kind === "delta" ? r.event.delta : r.kind));

describe("StreamRegistry", () => {
  let published: StreamRelay[];
  let local: StreamRelay[];
  let registry: StreamRegistry;

  beforeEach(() => {
    vi.useFakeTimers();
    published = [];
    local = [];
    registry = new StreamRegistry({
      nodeId: "here",
      idleMs: IDLE,
      deltasPerSecond: 10,
      maxOpenPerPrincipal: 1,
      publish: (relay) => {
        published.push(relay);
        registry.accept(relay);
      },
      emitLocal: (relay) => local.push(relay),
    });
  });
  afterEach(() => {
    registry.clear();
    vi.useRealTimers();
  });

  it("emits deltas in index order whatever order they arrive in, each once", () => {
    registry.accept({ kind: "start", node: "other", event: start("a") });
    expect(texts(registry.accept(delta("a", 2, "c")))).toEqual([]);
    expect(texts(registry.accept(delta("a", 1, "b")))).toEqual([]);
    expect(texts(registry.accept(delta("a", 0, "a")))).toEqual(["a", "b", "c"]);
    expect(texts(registry.accept(delta("a", 1, "b")))).toEqual([]);
    expect(registry.openIn("s")).toMatchObject([{ id: "a", content: "abc", nextIndex: 3 }]);
  });

  it("emits with the stream's own audience and drops another sender's events", () => {
    registry.accept({ kind: "start", node: "other", event: start("a") });
    const [out] = registry.accept(delta("a", 0, "x"));
    expect(out).toMatchObject({ to: { sessionId: "s", senderId: "bot", visibility: "session" } });
    expect(registry.accept(delta("a", 1, "y", "mallory"))).toEqual([]);
    const abort: StreamRelay = {
      kind: "abort",
      event: { id: "a", sessionId: "s", reason: "sender" },
      to: { sessionId: "s", senderId: "mallory", visibility: "session" },
    };
    expect(registry.accept(abort)).toEqual([]);
    expect(registry.accept({ kind: "end", id: "a", sessionId: "s", senderId: "mallory" })).toEqual(
      [],
    );
    expect(registry.openIn("s")).toMatchObject([{ id: "a", content: "x" }]);
  });

  it("keeps deltas that overtook their start and emits them after it", () => {
    registry.accept(delta("a", 0, "early"));
    registry.accept(delta("a", 1, " bird"));
    expect(texts(registry.accept({ kind: "start", node: "other", event: start("a") }))).toEqual([
      "start",
      "early",
      " bird",
    ]);
  });

  it("expires another node's stream after the idle time and a grace, to local sockets only", () => {
    registry.accept({ kind: "start", node: "other", event: start("a") });
    vi.advanceTimersByTime(IDLE + REPLICA_GRACE_MS - 10);
    registry.accept(delta("a", 0, "still here"));
    vi.advanceTimersByTime(IDLE + REPLICA_GRACE_MS - 10);
    expect(local).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(local).toEqual([
      expect.objectContaining({
        kind: "abort",
        event: { id: "a", sessionId: "s", reason: "idle" },
      }),
    ]);
    expect(published).toEqual([]);
    expect(registry.openIn("s")).toEqual([]);
  });

  it("expires a function's stream after the idle time on every node for itself", () => {
    registry.accept({ kind: "start", node: null, event: start("a") });
    vi.advanceTimersByTime(IDLE);
    expect(local).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it("aborts its own stream through the cluster when idle or when its sender is gone", () => {
    registry.reserve(start("a"), true);
    registry.accept({ kind: "start", node: "here", event: start("a") });
    registry.reserve(start("h", "http-agent"), false);
    registry.accept({ kind: "start", node: "here", event: start("h", "http-agent") });
    registry.senderGone("http-agent");
    expect(published).toEqual([]);
    registry.senderGone("bot");
    expect(published).toEqual([
      expect.objectContaining({
        kind: "abort",
        event: expect.objectContaining({ id: "a", reason: "disconnected" }),
      }),
    ]);
    vi.advanceTimersByTime(IDLE);
    expect(published.at(-1)).toMatchObject({ event: { id: "h", reason: "idle" } });
    expect(registry.openIn("s")).toEqual([]);
    expect(local).toEqual([]);
  });

  it("keeps at most KNOWN_PER_OPEN times the open limit of one sender's streams", () => {
    for (let i = 0; i <= KNOWN_PER_OPEN; i++) {
      registry.accept({ kind: "start", node: null, event: start(`a${i}`) });
    }
    expect(registry.openIn("s")).toHaveLength(KNOWN_PER_OPEN);
    registry.accept({ kind: "start", node: null, event: start("other", "carol") });
    expect(registry.openIn("s")).toHaveLength(KNOWN_PER_OPEN + 1);
  });

  it("answers another node's sync with a snapshot of each stream it owns, and learns the others'", () => {
    registry.reserve(start("mine"), true);
    registry.accept({ kind: "start", node: "here", event: start("mine") });
    registry.accept(delta("mine", 0, "He"));
    registry.accept(delta("mine", 1, "llo"));
    registry.accept({ kind: "start", node: "other", event: start("theirs", "carol") });
    registry.accept({ kind: "start", node: null, event: start("fn", "dave") });
    // Its own ask goes unanswered here.
    registry.sync();
    expect(published).toEqual([{ kind: "sync", node: "here" }]);
    published = [];
    expect(registry.accept({ kind: "sync", node: "other" })).toEqual([]);
    expect(published).toEqual([
      { kind: "snapshot", node: "here", event: start("mine"), content: "Hello", nextIndex: 2 },
    ]);

    // A stream it did not know: kept with its text; deltas that came first and it holds are
    // dropped, the next is emitted.
    registry.accept(delta("late", 1, "b", "erin"));
    registry.accept(delta("late", 2, "c", "erin"));
    const snapshot: StreamRelay = {
      kind: "snapshot",
      node: "other",
      event: start("late", "erin"),
      content: "ab",
      nextIndex: 2,
    };
    expect(texts(registry.accept(snapshot))).toEqual(["c"]);
    expect(registry.openIn("s").find((s) => s.id === "late")).toMatchObject({
      content: "abc",
      nextIndex: 3,
    });
    // One it knows already is left as it is.
    expect(registry.accept({ ...snapshot, content: "zz", nextIndex: 5 })).toEqual([]);
    expect(registry.openIn("s").find((s) => s.id === "late")).toMatchObject({ content: "abc" });
    expect(texts(registry.accept(delta("late", 3, "d", "erin")))).toEqual(["d"]);
    // Learned from another node: it expires like that node's other streams.
    vi.advanceTimersByTime(IDLE + REPLICA_GRACE_MS);
    expect(registry.get("late")).toBeUndefined();
  });
});
