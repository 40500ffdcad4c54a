import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { PresenceEntry, PresenceEvent } from "../src/protocol/index.js";
import { connectAgent, connectUser, createSession, sharedGateway } from "./helpers/fixture.js";
import { call, connect, flushed, startTestGateway, waitFor } from "./helpers/gateway.js";

type JoinAck = { status: "success"; presence: PresenceEntry[] } | { status: "error"; code: string };

/** Every `presence` the socket receives, in order. */
function presenceSeen(socket: Socket): PresenceEvent[] {
  const seen: PresenceEvent[] = [];
  socket.on("presence", (event: PresenceEvent) => seen.push(event));
  return seen;
}

async function join(socket: Socket, sessionId: string): Promise<PresenceEntry[]> {
  const ack = await call<JoinAck>(socket, "join_session", { sessionId });
  if (ack.status !== "success") throw new Error(`join failed: ${ack.code}`);
  return ack.presence;
}

const states = (events: PresenceEvent[], principalId: string) =>
  events.filter((e) => e.principalId === principalId).map((e) => e.state);

describe("presence", () => {
  const node = sharedGateway();

  it("lists who is online in the join ack, the joiner included, and tells the room of each arrival", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const agent = await connectAgent(node, "bot");
    const before = Date.now();
    const first = await join(agent, session.id);
    expect(first).toEqual([
      { principalId: "bot", kind: "agent", name: "bot", since: expect.any(Number) },
    ]);
    expect(first[0]?.since).toBeGreaterThanOrEqual(before);
    const seen = presenceSeen(agent);

    const user = await connectUser(node, "alice");
    const second = await join(user, session.id);
    expect(second.map((p) => p.principalId).sort()).toEqual(["alice", "bot"]);
    await waitFor(() => seen.length === 1, 2_000, "alice online");
    expect(seen[0]).toEqual({
      sessionId: session.id,
      principalId: "alice",
      kind: "user",
      name: "alice",
      state: "online",
      at: expect.any(Number),
    });
  });

  it("goes offline on leave and on disconnect, but not while another socket of the principal stays", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const agent = await connectAgent(node, "bot");
    await join(agent, session.id);
    const seen = presenceSeen(agent);
    const tab1 = await connectUser(node, "alice");
    const tab2 = await connectUser(node, "alice");
    await join(tab1, session.id);
    await join(tab2, session.id);
    await waitFor(() => seen.length === 1, 2_000, "alice online");

    await call(tab1, "leave_session", { sessionId: session.id });
    await flushed(agent);
    expect(states(seen, "alice")).toEqual(["online"]);
    expect((await join(agent, session.id)).map((p) => p.principalId).sort()).toEqual([
      "alice",
      "bot",
    ]);

    tab2.disconnect();
    await waitFor(() => seen.length === 2, 2_000, "alice offline");
    expect(seen[1]).toMatchObject({ principalId: "alice", state: "offline" });
    expect((await join(agent, session.id)).map((p) => p.principalId)).toEqual(["bot"]);

    await join(tab1, session.id);
    await waitFor(() => seen.length === 3, 2_000, "alice online again");
    await call(tab1, "leave_session", { sessionId: session.id });
    await waitFor(() => seen.length === 4, 2_000, "alice offline after leaving");
    expect(states(seen, "alice")).toEqual(["online", "offline", "online", "offline"]);
  });

  it("ends when the principal is removed from the session", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const agent = await connectAgent(node, "bot");
    await join(agent, session.id);
    const seen = presenceSeen(agent);
    const user = await connectUser(node, "alice");
    await join(user, session.id);
    await waitFor(() => seen.length === 1, 2_000, "alice online");
    await node.gateway.messaging.removeMember({ id: "bot", kind: "agent" }, session.id, "alice");
    await waitFor(() => seen.length === 2, 2_000, "alice offline");
    expect(seen[1]).toMatchObject({ principalId: "alice", state: "offline" });
    expect((await join(agent, session.id)).map((p) => p.principalId)).toEqual(["bot"]);
  });

  it("is not sent to sockets outside the session, nor announced for a refused join", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const outsider = await connectAgent(node, "bot");
    const agent = await connectAgent(node, "bot");
    await join(agent, session.id);
    const inRoom = presenceSeen(agent);
    const outside = presenceSeen(outsider);
    const stranger = await connectUser(node, "mallory");
    expect(await call(stranger, "join_session", { sessionId: session.id })).toMatchObject({
      status: "error",
      code: "FORBIDDEN",
    });
    const user = await connectUser(node, "alice");
    await join(user, session.id);
    await waitFor(() => inRoom.length === 1, 2_000, "alice online");
    await flushed(outsider, agent);
    expect(outside).toEqual([]);
    expect(inRoom.map((e) => e.principalId)).toEqual(["alice"]);
  });

  describe("across nodes", () => {
    const other = sharedGateway({ nodeId: "presence-b", joins: node });

    it("reaches a socket on the other node, and a join there lists who is online here", async () => {
      const session = await createSession(node, "alice", ["bot"]);
      const agentOnB = await connectAgent(other, "bot");
      await join(agentOnB, session.id);
      const seen = presenceSeen(agentOnB);

      const userOnA = await connectUser(node, "alice");
      await join(userOnA, session.id);
      const started = Date.now();
      await waitFor(() => seen.length === 1, 1_000, "alice online on the other node");
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(seen[0]).toMatchObject({ principalId: "alice", state: "online", kind: "user" });

      const userOnB = await connect(other.url, "/clients", {
        token: await other.token("carol", "user"),
      });
      await node.gateway.messaging.addMember({ id: "alice", kind: "user" }, session.id, "carol");
      expect((await join(userOnB, session.id)).map((p) => p.principalId).sort()).toEqual([
        "alice",
        "bot",
        "carol",
      ]);

      // alice on both nodes: leaving one keeps her online everywhere.
      const aliceOnB = await connect(other.url, "/clients", {
        token: await other.token("alice", "user"),
      });
      await join(aliceOnB, session.id);
      userOnA.disconnect();
      await flushed(aliceOnB);
      await waitFor(
        async () =>
          (await join(agentOnB, session.id)).filter((p) => p.principalId === "alice").length === 1,
        2_000,
        "alice still listed",
      );
      aliceOnB.disconnect();
      await waitFor(() => states(seen, "alice").at(-1) === "offline", 2_000, "alice offline");
      expect(states(seen, "alice")).toEqual(["online", "offline"]);
    });

    it("drops the principals of a node that shuts down at once, not after the node timeout", async () => {
      const session = await createSession(node, "alice", ["bot"]);
      const user = await connectUser(node, "alice");
      await join(user, session.id);
      const seen = presenceSeen(user);
      const leaving = await startTestGateway({ db: node.db, nodeId: "presence-leaving" });
      let closed = false;
      try {
        await waitFor(() => leaving.gateway.realtime.clusterReady(), 10_000, "its listener");
        const agent = await connectAgent(leaving, "bot");
        await join(agent, session.id);
        await waitFor(() => seen.length === 1, 2_000, "bot online");
        const closing = Date.now();
        await leaving.close();
        closed = true;
        // The default timeout is 20 s: only the node's goodbye can make this in time.
        await waitFor(() => seen.length === 2, 5_000, "bot offline");
        expect(seen[1]).toMatchObject({ principalId: "bot", state: "offline" });
        expect(Date.now() - closing).toBeLessThan(5_000);
      } finally {
        if (!closed) await leaving.close();
      }
    });

    it("lets a node started later learn who is online on the others", async () => {
      const session = await createSession(node, "alice", ["bot"]);
      const userOnA = await connectUser(node, "alice");
      await join(userOnA, session.id);
      const late = await startTestGateway({ db: node.db, nodeId: "presence-late" });
      try {
        await waitFor(() => late.gateway.realtime.clusterReady(), 10_000, "late listener");
        const agent = await connectAgent(late, "bot");
        await waitFor(
          async () => (await join(agent, session.id)).some((p) => p.principalId === "alice"),
          5_000,
          "alice listed on the late node",
        );
      } finally {
        await late.close();
      }
    });
  });
});
