/**
 * Display names (PROTOCOL.md sections 2, 6 and 8): every message carries `senderName` on every
 * surface, reads carry the principal's current name, and sessions carry `memberDetails`.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type {
  MessagePage,
  SessionAddedEvent,
  SessionDetail,
  StoredMessage,
} from "../src/protocol/index.js";
import { createServerlessApp } from "../src/serverless/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, TEST_SECRET, waitFor } from "./helpers/gateway.js";

const node = sharedGateway();

const sign = (sub: string, kind: "agent" | "user", name?: string) =>
  node.gateway.tokens.sign({ sub, kind, ...(name === undefined ? {} : { name }) });

async function api<T>(path: string, token: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${node.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function received(socket: Socket): StoredMessage[] {
  const got: StoredMessage[] = [];
  socket.on("message", (m: StoredMessage) => got.push(m));
  return got;
}

const names = (messages: StoredMessage[]) => messages.map((m) => [m.senderId, m.senderName]);

describe("names", () => {
  it("carries senderName live, in the join catch-up, in sync and in HTTP history", async () => {
    const aliceToken = await sign("n-alice", "user", "Alice A.");
    const session = await api<SessionDetail>("/v1/sessions", aliceToken, {
      method: "POST",
      body: JSON.stringify({ members: ["n-bot"] }),
    });
    const alice = await connect(node.url, "/clients", { token: aliceToken });
    // A token without `name`: the id is the name.
    const bot = await connect(node.url, "/agents", { token: await sign("n-bot", "agent") });
    await call(bot, "join_session", { sessionId: session.id });
    const live = received(bot);
    await call(alice, "message", { id: "n-1", sessionId: session.id, content: "hi", type: "text" });
    await waitFor(() => live.length === 1, 2_000, "the broadcast");
    expect(live[0]).toMatchObject({ senderId: "n-alice", senderName: "Alice A." });
    await call(bot, "message", { id: "n-2", sessionId: session.id, content: "yo", type: "text" });
    const expected = [
      ["n-alice", "Alice A."],
      ["n-bot", "n-bot"],
    ];

    const join = await call<{ messages: StoredMessage[] }>(alice, "join_session", {
      sessionId: session.id,
      lastSeq: 0,
    });
    expect(names(join.messages)).toEqual(expected);
    const sync = await call<{ messages: StoredMessage[] }>(alice, "sync", {
      sessionId: session.id,
      afterSeq: 0,
    });
    expect(names(sync.messages)).toEqual(expected);
    const back = await call<{ messages: StoredMessage[] }>(alice, "sync", {
      sessionId: session.id,
      beforeSeq: 10,
    });
    expect(names(back.messages)).toEqual(expected);
    const page = await api<MessagePage>(`/v1/sessions/${session.id}/messages`, aliceToken);
    expect(names(page.messages)).toEqual(expected);
  });

  it("follows a rename: reads show the current name, later live messages the new one", async () => {
    const first = await sign("n-dana", "user", "Dana");
    const session = await api<SessionDetail>("/v1/sessions", first, {
      method: "POST",
      body: JSON.stringify({ members: ["n-watch"] }),
    });
    await api(`/v1/sessions/${session.id}/messages`, first, {
      method: "POST",
      body: JSON.stringify({ id: "n-r1", content: "before", type: "text" }),
    });
    const watcher = await connect(node.url, "/agents", { token: await sign("n-watch", "agent") });
    await call(watcher, "join_session", { sessionId: session.id });
    const live = received(watcher);

    const renamed = await sign("n-dana", "user", "Dana B.");
    const dana = await connect(node.url, "/clients", { token: renamed });
    await call(dana, "message", { id: "n-r2", sessionId: session.id, content: "x", type: "text" });
    await waitFor(() => live.length === 1, 2_000, "the broadcast");
    expect(live[0]?.senderName).toBe("Dana B.");
    // A later token without a name keeps the recorded one.
    const nameless = await connect(node.url, "/clients", { token: await sign("n-dana", "user") });
    await call(nameless, "message", {
      id: "n-r3",
      sessionId: session.id,
      content: "y",
      type: "text",
    });
    await waitFor(() => live.length === 2, 2_000, "the second broadcast");
    expect(live[1]?.senderName).toBe("Dana B.");

    const page = await api<MessagePage>(`/v1/sessions/${session.id}/messages`, renamed);
    expect(page.messages.map((m) => m.senderName)).toEqual(["Dana B.", "Dana B.", "Dana B."]);
    const detail = await api<SessionDetail>(`/v1/sessions/${session.id}`, renamed);
    expect(detail.memberDetails).toContainEqual({
      principalId: "n-dana",
      kind: "user",
      name: "Dana B.",
    });
  });

  it("gives memberDetails in members' order on create, get and session:added", async () => {
    await connect(node.url, "/agents", { token: await sign("n-helper", "agent", "Helper") });
    const ownerToken = await sign("n-owner", "user", "Owner");
    const created = await api<SessionDetail>("/v1/sessions", ownerToken, {
      method: "POST",
      body: JSON.stringify({ title: "t", members: ["n-helper", "n-never-seen"] }),
    });
    const expected = [
      { principalId: "n-owner", kind: "user", name: "Owner" },
      { principalId: "n-helper", kind: "agent", name: "Helper" },
      { principalId: "n-never-seen", kind: null, name: "n-never-seen" },
    ];
    expect(created.members).toEqual(["n-owner", "n-helper", "n-never-seen"]);
    expect(created.memberDetails).toEqual(expected);
    const got = await api<SessionDetail>(`/v1/sessions/${created.id}`, ownerToken);
    // The read orders members by when they were added, then by id.
    expect(got.memberDetails.map((d) => d.principalId)).toEqual(got.members);
    expect(got.memberDetails).toEqual(expect.arrayContaining(expected));
    expect(got.memberDetails).toHaveLength(3);

    const guest = await connect(node.url, "/clients", { token: await sign("n-guest", "user") });
    const added = new Promise<SessionAddedEvent>((resolve) => guest.once("session:added", resolve));
    await api(`/v1/sessions/${created.id}/members`, ownerToken, {
      method: "POST",
      body: JSON.stringify({ principalId: "n-guest" }),
    });
    const event = await added;
    expect(event.session.memberDetails.map((d) => d.principalId)).toEqual(event.session.members);
    expect(event.session.memberDetails).toEqual(
      expect.arrayContaining([
        ...expected,
        { principalId: "n-guest", kind: "user", name: "n-guest" },
      ]),
    );
  });

  it("carries senderName through the serverless app, live and in its history", async () => {
    const token = await sign("n-fn", "user", "Function User");
    const session = await api<SessionDetail>("/v1/sessions", token, {
      method: "POST",
      body: JSON.stringify({ members: ["n-fn-bot"] }),
    });
    const bot = await connect(node.url, "/agents", { token: await sign("n-fn-bot", "agent") });
    await call(bot, "join_session", { sessionId: session.id });
    const live = received(bot);
    const fn = createServerlessApp({
      DATABASE_URL: node.db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "silent",
    });
    try {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const sent = await fn.fetch(
        new Request(`http://fn/v1/sessions/${session.id}/messages`, {
          method: "POST",
          headers,
          body: JSON.stringify({ id: "n-fn-1", content: "from a function", type: "text" }),
        }),
      );
      expect(sent.status).toBe(201);
      await waitFor(() => live.length === 1, 5_000, "the serverless broadcast");
      expect(live[0]).toMatchObject({ senderId: "n-fn", senderName: "Function User" });
      const page = (await (
        await fn.fetch(new Request(`http://fn/v1/sessions/${session.id}/messages`, { headers }))
      ).json()) as MessagePage;
      expect(names(page.messages)).toEqual([["n-fn", "Function User"]]);
    } finally {
      await fn.close();
    }
  });
});
