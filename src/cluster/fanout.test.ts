import { describe, expect, it } from "vitest";
import { createMemoryNetwork } from "./memory-bus.js";
import { fakeNode, message, nextTick } from "./test-nodes.js";

describe("cluster fan-out over an in-memory bus", { timeout: 2_000 }, () => {
  it("hands a node's change to its own sockets at once, except the sender, and its batch to every other node", async () => {
    const network = createMemoryNetwork();
    const [a, b, c] = [fakeNode(network), fakeNode(network), fakeNode(network)];
    a.fanout.message(message("s", 1), "sender-socket");
    expect(a.log).toEqual([{ batch: { messages: [message("s", 1)] }, except: "sender-socket" }]);
    await Promise.all([b.until(() => b.log.length === 1), c.until(() => c.log.length === 1)]);
    for (const other of [b, c]) {
      expect(other.log).toEqual([{ batch: { messages: [message("s", 1)] }, except: undefined }]);
    }
    // Its own batch does not come back to it.
    expect(a.log).toHaveLength(1);
    expect(network.published.map((p) => p.from)).toEqual([0]);
  });

  it("sends the changes of one tick as one batch, messages, contexts and heads apart", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    for (let seq = 1; seq <= 20; seq++) a.fanout.message(message("s", seq));
    a.fanout.head({ sessionId: "t", seq: 4 });
    await b.until(() => b.seqs("s").length === 20 && b.heads().length === 1);
    expect(network.published).toHaveLength(1);
    expect(network.published[0]?.batch.messages?.map((m) => m.seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(network.published[0]?.batch.heads).toEqual([{ sessionId: "t", seq: 4 }]);
  });

  it("keeps one batch in flight and sends the ones that pile up behind it in order", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    network.hold();
    // 2,500-character messages: two fit in a batch, so 30 of them over 10 ticks make 15 batches.
    for (let seq = 1; seq <= 30; seq++) {
      a.fanout.message(message("s", seq, "x".repeat(2_500)));
      if (seq % 3 === 0) await nextTick();
    }
    await nextTick();
    expect(network.inFlight).toBe(1);
    expect(b.seqs("s")).toEqual([]);
    network.release();
    await b.until(() => b.seqs("s").length === 30);
    expect(b.seqs("s")).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(network.maxInFlight).toBe(1);
    expect(network.published.length).toBeGreaterThanOrEqual(15);
    for (const { batch } of network.published)
      expect(batch.messages?.length).toBeLessThanOrEqual(2);
  });

  it("delivers a batch from another node to this node's sockets without leaving any out", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    a.fanout.context(
      {
        sessionId: "s",
        contextId: "c",
        contextData: { k: 1 },
        version: 2,
        sourceAgentId: "bot",
        updatedAt: 1,
      },
      "sender-socket",
    );
    await b.until(() => b.log.length === 1);
    expect(b.log[0]?.except).toBeUndefined();
    expect(b.log[0]?.batch.contexts).toHaveLength(1);
  });

  it("drops typing for other nodes while messages wait, never queueing it ahead of them", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    const typing = {
      sessionId: "s",
      principalId: "alice",
      kind: "user" as const,
      name: "Alice",
      state: "start" as const,
    };
    network.hold();
    a.fanout.message(message("s", 1));
    await nextTick();
    a.fanout.message(message("s", 2));
    await nextTick();
    // One batch in flight, one waiting: the bus is behind.
    a.fanout.typing(typing, "sender-socket");
    expect(a.log.at(-1)).toEqual({ batch: { typing: [typing] }, except: "sender-socket" });
    network.release();
    await b.until(() => b.seqs("s").length === 2);
    a.fanout.message(message("s", 3));
    await b.until(() => b.seqs("s").length === 3);
    expect(network.published.some(({ batch }) => batch.typing)).toBe(false);

    a.fanout.typing(typing, "sender-socket");
    await b.until(() => b.log.some((entry) => entry.batch.typing));
    expect(b.log.at(-1)?.batch.typing).toEqual([typing]);
  });
});
