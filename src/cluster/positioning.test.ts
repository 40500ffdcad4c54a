import { afterEach, describe, expect, it } from "vitest";
import { createMemoryNetwork } from "./memory-bus.js";
import { createPositioning, type Positioning } from "./positioning.js";
import { type FakeNode, fakeNode, message, nextTick } from "./test-nodes.js";

const passes: Positioning[] = [];
afterEach(() => {
  for (const pass of passes.splice(0)) pass.stop();
});

/** A positioning pass on a node whose sockets are in `sessions`, over a table of heads. */
function positioning(node: FakeNode, sessions: string[], table: Record<string, number>) {
  const pass = createPositioning({
    fanout: node.fanout,
    localSessions: () => sessions,
    readHeads: async (ids) =>
      ids.filter((id) => id in table).map((id) => ({ sessionId: id, seq: table[id] as number })),
    onError: (err) => {
      throw err;
    },
  });
  passes.push(pass);
  return pass;
}

/** Sends seqs from..to of a session from `node`, one tick each (one batch each). */
async function send(node: FakeNode, sessionId: string, seqs: number[]) {
  for (const seq of seqs) {
    node.fanout.message(message(sessionId, seq));
    await nextTick();
  }
}

describe("head tracking and announcement over an in-memory bus", { timeout: 2_000 }, () => {
  it("knows a node is behind when it saw seq 5 and then 7 of a session, and the sender is not", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    network.drop((batch) => batch.messages?.some((m) => m.seq === 6) ?? false);
    await send(a, "s", [1, 2, 3, 4, 5, 6, 7]);
    await b.until(() => b.seqs("s").includes(7));
    expect(b.seqs("s")).toEqual([1, 2, 3, 4, 5, 7]);
    expect(b.fanout.heads.behind("s", 7)).toBe(true);
    expect(b.fanout.heads.behind("s", 5)).toBe(false);
    expect(a.fanout.heads.behind("s", 7)).toBe(false);
  });

  it("announces a head, to this node's sockets only, where the table is ahead of what was delivered without a gap", async () => {
    const network = createMemoryNetwork();
    const [a, b, c] = [fakeNode(network), fakeNode(network), fakeNode(network)];
    network.drop((batch) => batch.messages?.some((m) => m.seq === 6) ?? false);
    await send(a, "gap", [1, 2, 3, 4, 5, 6, 7]);
    await send(a, "complete", [1, 2, 3]);
    await send(a, "lost-tail", [1, 2]);
    await b.until(() => b.seqs("lost-tail").length === 2);
    const table = { gap: 7, complete: 3, "lost-tail": 4 };
    const pass = positioning(b, ["gap", "complete", "lost-tail"], table);
    const published = network.published.length;

    await pass.run();
    expect(b.heads()).toEqual(["gap:7", "lost-tail:4"]);
    // Every node runs its own pass: nothing of it goes on the wire. A sentinel from b leaves
    // after anything the pass could have queued.
    b.fanout.message(message("sentinel", 1));
    await c.until(() => c.seqs("sentinel").length === 1);
    expect(network.published.slice(published).map((p) => p.batch)).toEqual([
      { messages: [message("sentinel", 1)] },
    ]);
    expect(c.heads()).toEqual([]);

    // Announced is known: the next pass is quiet, and `everything` (a listener that came
    // back) announces every session again.
    await pass.run();
    expect(b.heads()).toEqual(["gap:7", "lost-tail:4"]);
    await pass.run(true);
    expect(b.heads()).toEqual(["gap:7", "lost-tail:4", "gap:7", "complete:3", "lost-tail:4"]);
  });

  it("announces once when live delivery was merely out of order, then stays quiet", async () => {
    const network = createMemoryNetwork();
    const b = fakeNode(network);
    const a = fakeNode(network);
    await send(a, "s", [1, 2]);
    a.fanout.message(message("s", 4));
    await nextTick();
    a.fanout.message(message("s", 3));
    await b.until(() => b.seqs("s").length === 4);
    const pass = positioning(b, ["s"], { s: 4 });
    await pass.run();
    await pass.run();
    expect(b.heads()).toEqual(["s:4"]);
  });

  it("forgets a session that has no socket here any more, so a later join is told its head", async () => {
    const network = createMemoryNetwork();
    const [a, b] = [fakeNode(network), fakeNode(network)];
    await send(a, "s", [1, 2]);
    await b.until(() => b.seqs("s").length === 2);
    const sessions = ["s"];
    const pass = positioning(b, sessions, { s: 2 });
    await pass.run();
    expect(b.heads()).toEqual([]);
    sessions.pop();
    await pass.run();
    sessions.push("s");
    await pass.run();
    expect(b.heads()).toEqual(["s:2"]);
  });
});
