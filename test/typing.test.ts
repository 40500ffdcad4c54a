import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { TypingEvent } from "../src/protocol/index.js";
import { connectAgent, connectUser, createSession, sharedGateway } from "./helpers/fixture.js";
import { call, connect, flushed, waitFor } from "./helpers/gateway.js";

/** Every `typing` the socket receives, in order. */
function typingSeen(socket: Socket): TypingEvent[] {
  const seen: TypingEvent[] = [];
  socket.on("typing", (event: TypingEvent) => seen.push(event));
  return seen;
}

async function joined(sessionId: string, ...sockets: Socket[]) {
  for (const socket of sockets) {
    expect(await call(socket, "join_session", { sessionId })).toMatchObject({ status: "success" });
  }
}

describe("typing", () => {
  const node = sharedGateway();

  it("reaches the session's other sockets in both namespaces, not the sender's", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const sender = await connectUser(node, "alice");
    const otherTab = await connectUser(node, "alice");
    const agent = await connectAgent(node, "bot");
    await joined(session.id, sender, otherTab, agent);
    const own = typingSeen(sender);
    const tab = typingSeen(otherTab);
    const bot = typingSeen(agent);

    const ack = await call(sender, "typing", { sessionId: session.id, state: "start" });
    expect(ack).toEqual({ status: "success", sessionId: session.id });
    const start = {
      sessionId: session.id,
      principalId: "alice",
      kind: "user",
      name: "alice",
      state: "start",
    };
    await waitFor(() => tab.length === 1 && bot.length === 1, 2_000, "typing start");
    expect(tab).toEqual([start]);
    expect(bot).toEqual([start]);

    sender.emit("typing", { sessionId: session.id, state: "stop" }); // no ack: still handled
    await waitFor(() => bot.length === 2, 2_000, "typing stop");
    expect(bot[1]).toEqual({ ...start, state: "stop" });
    await flushed(sender);
    expect(own).toEqual([]);
  });

  it("is not relayed to a socket that has not joined the session", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const sender = await connectUser(node, "alice");
    const member = await connectAgent(node, "bot");
    const outsider = await connectAgent(node, "bot");
    await joined(session.id, sender, member);
    const inRoom = typingSeen(member);
    const outside = typingSeen(outsider);
    await call(sender, "typing", { sessionId: session.id, state: "start" });
    await waitFor(() => inRoom.length === 1, 2_000, "typing at the member");
    await flushed(outsider);
    expect(outside).toEqual([]);
  });

  it("is FORBIDDEN for a session the socket has not joined, and relays nothing", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const stranger = await connectUser(node, "mallory");
    const member = await connectAgent(node, "bot");
    await joined(session.id, member);
    const seen = typingSeen(member);
    const ack = await call(stranger, "typing", { sessionId: session.id, state: "start" });
    expect(ack).toMatchObject({ status: "error", code: "FORBIDDEN", retryable: false });
    const bad = await call(stranger, "typing", { sessionId: session.id, state: "maybe" });
    expect(bad).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    await flushed(member);
    expect(seen).toEqual([]);
  });

  it("stops when the sender disconnects or sends a message, long before the timeout", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const agent = await connectAgent(node, "bot");
    const sender = await connectUser(node, "alice");
    await joined(session.id, sender, agent);
    const seen = typingSeen(agent);

    await call(sender, "typing", { sessionId: session.id, state: "start" });
    const sent = await call(sender, "message", {
      id: "typing-m1",
      sessionId: session.id,
      content: "hi",
      type: "text",
    });
    expect(sent).toMatchObject({ status: "success" });
    await waitFor(() => seen.length === 2, 2_000, "stop after the message");
    expect(seen.map((e) => e.state)).toEqual(["start", "stop"]);

    await call(sender, "typing", { sessionId: session.id, state: "start" });
    await waitFor(() => seen.length === 3, 2_000, "second start");
    sender.disconnect();
    await waitFor(() => seen.length === 4, 2_000, "stop after the disconnect");
    expect(seen[3]).toMatchObject({ principalId: "alice", state: "stop" });
  });

  it("stops when the sending socket leaves the session", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const agent = await connectAgent(node, "bot");
    const sender = await connectUser(node, "alice");
    await joined(session.id, sender, agent);
    const seen = typingSeen(agent);
    await call(sender, "typing", { sessionId: session.id, state: "start" });
    await waitFor(() => seen.length === 1, 2_000, "the start");
    await call(sender, "leave_session", { sessionId: session.id });
    await waitFor(() => seen.length === 2, 2_000, "stop after the leave");
    expect(seen[1]).toMatchObject({ principalId: "alice", state: "stop" });
    const after = await call(sender, "typing", { sessionId: session.id, state: "start" });
    expect(after).toMatchObject({ status: "error", code: "FORBIDDEN" });
  });

  describe("across nodes", () => {
    const other = sharedGateway({ nodeId: "typing-b", joins: node });

    it("reaches both namespaces on another node, and so does the stop", async () => {
      const session = await createSession(node, "alice", ["bot"]);
      const sender = await connectUser(node, "alice");
      const agentOnB = await connectAgent(other, "bot");
      const userOnB = await connect(other.url, "/clients", {
        token: await other.token("alice", "user"),
      });
      await joined(session.id, sender, agentOnB, userOnB);
      const bot = typingSeen(agentOnB);
      const tab = typingSeen(userOnB);
      await call(sender, "typing", { sessionId: session.id, state: "start" });
      await waitFor(() => bot.length === 1 && tab.length === 1, 5_000, "typing on node b");
      expect(bot[0]).toMatchObject({ principalId: "alice", state: "start" });
      await call(sender, "typing", { sessionId: session.id, state: "stop" });
      await waitFor(() => bot.length === 2 && tab.length === 2, 5_000, "stop on node b");
      expect(tab[1]).toMatchObject({ principalId: "alice", state: "stop" });
    });
  });
});

describe("typing with a short timeout and a small rate limit", () => {
  const node = sharedGateway({ env: { TYPING_TIMEOUT_MS: "200", SOCKET_RATE_LIMIT: "5" } });

  it("ends by itself when a start is not refreshed", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const sender = await connectUser(node, "alice");
    const agent = await connectAgent(node, "bot");
    await joined(session.id, sender, agent);
    const seen = typingSeen(agent);
    const started = Date.now();
    await call(sender, "typing", { sessionId: session.id, state: "start" });
    await waitFor(() => seen.length === 2, 2_000, "the automatic stop");
    expect(seen.map((e) => e.state)).toEqual(["start", "stop"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("counts against the per-socket rate limit", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const sender = await connectUser(node, "alice");
    await joined(session.id, sender);
    const acks = await Promise.all(
      Array.from({ length: 15 }, () =>
        call<{ status: string; code?: string }>(sender, "typing", {
          sessionId: session.id,
          state: "start",
        }),
      ),
    );
    const codes = acks.map((a) => (a.status === "success" ? "ok" : a.code));
    expect(codes).toContain("ok");
    expect(codes).toContain("RATE_LIMITED");
    expect(codes.filter((c) => c !== "ok" && c !== "RATE_LIMITED")).toEqual([]);
  });
});
