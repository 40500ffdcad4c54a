import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StoredMessage } from "../protocol/schemas.js";
import { GatewayError, GatewayNetworkError } from "./errors.js";
import { type Page, Receiver } from "./receiver.js";

function msg(seq: number, sessionId = "s"): StoredMessage {
  return {
    id: `m${seq}`,
    sessionId,
    seq,
    senderId: "a",
    senderName: "a",
    senderKind: "agent",
    content: String(seq),
    type: "text",
    timestamp: 0,
    createdAt: 0,
    status: "sent",
  };
}

/** A log of `head` messages served in pages of `pageSize`. */
function setup(options: { head?: number; pageSize?: number; fail?: unknown[] } = {}) {
  const delivered: number[] = [];
  const fetches: number[] = [];
  const errors: unknown[] = [];
  const failures = [...(options.fail ?? [])];
  const receiver = new Receiver({
    deliver: (m) => delivered.push(m.seq),
    fetchPage: async (_sessionId, afterSeq): Promise<Page> => {
      fetches.push(afterSeq);
      const failure = failures.shift();
      if (failure) throw failure;
      const head = options.head ?? 0;
      const last = Math.min(head, afterSeq + (options.pageSize ?? 100));
      const messages = [];
      for (let s = afterSeq + 1; s <= last; s++) messages.push(msg(s));
      return { messages, headSeq: head, hasMore: last < head };
    },
    gapWaitMs: 20,
    retryMs: 20,
    onError: (e) => errors.push(e),
  });
  return { receiver, delivered, fetches, errors };
}

// The receiver's waits (gapWaitMs, retryMs) run on a fake clock: a test moves it past a wait, or
// stops short of one, exactly, and never sleeps.
const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Receiver", () => {
  it("delivers live messages in seq order and drops repeats", () => {
    const { receiver, delivered, fetches } = setup();
    receiver.track("s", 0);
    for (const seq of [1, 3, 2, 2, 1, 4, 3]) receiver.ingest(msg(seq));
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(fetches).toEqual([]);
  });

  it("gives a hole gapWaitMs to close before syncing, then fetches page by page", async () => {
    const { receiver, delivered, fetches } = setup({ head: 250, pageSize: 100 });
    receiver.track("s", 0);
    receiver.ingest(msg(250));
    expect(delivered).toEqual([]);
    await tick(5);
    expect(fetches).toEqual([]);
    await tick(60);
    expect(fetches).toEqual([0, 100, 200]);
    expect(delivered).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it("cancels the sync when the hole closes by itself in time", async () => {
    const { receiver, delivered, fetches } = setup({ head: 2 });
    receiver.track("s", 0);
    receiver.ingest(msg(2));
    receiver.ingest(msg(1));
    await tick(50);
    expect(delivered).toEqual([1, 2]);
    expect(fetches).toEqual([]);
  });

  it("holds messages until the join says where delivery starts, then drops the older ones", () => {
    const { receiver, delivered } = setup();
    receiver.track("s");
    receiver.ingest(msg(5));
    receiver.ingest(msg(6));
    expect(delivered).toEqual([]);
    receiver.setStart("s", 5);
    expect(delivered).toEqual([6]);
  });

  it("fills up to a newer session head", async () => {
    const { receiver, delivered } = setup({ head: 3 });
    receiver.track("s", 0);
    receiver.head("s", 3);
    await tick(60);
    expect(delivered).toEqual([1, 2, 3]);
  });

  it("leaves a hole to the rejoin when offline, and retries other failures after retryMs", async () => {
    const offline = setup({ head: 2, fail: [new GatewayNetworkError("down")] });
    offline.receiver.track("s", 0);
    offline.receiver.head("s", 2, true);
    await tick(60);
    expect(offline.fetches).toEqual([0]);
    expect(offline.errors).toEqual([]);

    const flaky = setup({ head: 2, fail: [new GatewayError("UNAVAILABLE", "db away")] });
    flaky.receiver.track("s", 0);
    flaky.receiver.head("s", 2, true);
    await tick(60);
    expect(flaky.fetches).toEqual([0, 0]);
    expect(flaky.delivered).toEqual([1, 2]);
    expect(flaky.errors).toHaveLength(1);
  });

  it("ignores messages of sessions it does not track", () => {
    const { receiver, delivered } = setup();
    receiver.track("s", 0);
    receiver.ingest(msg(1, "other"));
    receiver.untrack("s");
    receiver.ingest(msg(1));
    expect(delivered).toEqual([]);
  });
});
