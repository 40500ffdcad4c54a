/**
 * Token streams across nodes and over HTTP (PROTOCOL.md "Streams"): events relayed to sockets on
 * another node in order, the join ack on a node that did not open the stream, the aborts seen
 * everywhere, and the HTTP routes on a node and in a serverless function.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { OpenStream } from "../src/protocol/index.js";
import { createServerlessApp } from "../src/serverless/index.js";
import { type ClusterNode, startNode } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { call, closeAllSockets, connect, TEST_SECRET, waitFor } from "./helpers/gateway.js";
import {
  deltasOf,
  eventsOf,
  joined,
  received,
  streamEvents,
  streamText,
} from "./helpers/streams.js";

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function cluster(env: Record<string, string> = {}) {
  const db: TestDatabase = await createTestDatabase({ max: 5 });
  cleanups.push(() => db.drop());
  const a = await startNode({ db, nodeId: "st-a", env });
  cleanups.push(() => a.close());
  const b = await startNode({ db, nodeId: "st-b", env });
  cleanups.push(() => b.close());
  await waitFor(
    () => a.gateway.realtime.clusterReady() && b.gateway.realtime.clusterReady(),
    10_000,
    "listeners",
  );
  const session = await a.gateway.messaging.createSession(
    { id: "alice", kind: "user" },
    { members: ["bot", "carol"] },
  );
  return { db, a, b, session };
}

const agentOn = async (node: ClusterNode, sub: string) =>
  connect(node.url, "/agents", { token: await node.token(sub, "agent") });
const userOn = async (node: ClusterNode, sub: string) =>
  connect(node.url, "/clients", { token: await node.token(sub, "user") });

async function http(
  node: { url: string } | { fetch(request: Request): Promise<Response> },
  token: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  const init = {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  const response =
    "url" in node
      ? await fetch(`${node.url}${path}`, init)
      : await node.fetch(new Request(`http://function.test${path}`, init));
  return { status: response.status, body: (await response.json()) as never };
}

describe("streams across nodes", () => {
  it("reach sockets on the other node in order, large deltas too, and end as the message", async () => {
    const { a, b, session } = await cluster();
    const bot = await agentOn(a, "bot");
    const user = await userOn(b, "alice");
    const agentB = await agentOn(b, "carol");
    await joined(session.id, user, agentB);
    const seen = streamEvents(user);
    const seenAgent = streamEvents(agentB);
    // A delta over the NOTIFY threshold travels as an attachment and may be overtaken.
    const deltas = ["a", "b", "x".repeat(9_000), "c", "d"];
    await streamText(bot, session.id, "c-order", deltas);
    await received(seen, "stream:delta", "c-order", deltas.length);
    await received(seenAgent, "stream:delta", "c-order", deltas.length);
    expect(deltasOf(seen, "c-order")).toEqual(deltas);
    expect(deltasOf(seenAgent, "c-order")).toEqual(deltas);
    expect(seen[0]).toMatchObject({
      event: "stream:start",
      payload: { id: "c-order", senderId: "bot", senderKind: "agent", visibility: "session" },
    });
    const end = await call(bot, "stream:end", { id: "c-order", sessionId: session.id });
    expect(end).toMatchObject({ status: "success", duplicate: false });
    await received(seen, "message", "c-order");
    expect(seen.at(-1)?.payload).toMatchObject({ content: deltas.join("") });
    // Closed on b too: a join there lists nothing.
    const late = await userOn(b, "alice");
    expect(await call(late, "join_session", { sessionId: session.id })).toMatchObject({
      streams: [],
    });
  });

  it("lists a stream opened on the other node, with its text so far, to a joiner", async () => {
    const { a, b, session } = await cluster();
    const bot = await agentOn(a, "bot");
    const watcher = await userOn(b, "carol");
    await joined(session.id, watcher);
    const watched = streamEvents(watcher);
    await streamText(bot, session.id, "c-join", ["Hello", ", "]);
    await received(watched, "stream:delta", "c-join", 2);
    const late = await userOn(b, "alice");
    const seen = streamEvents(late);
    const ack = await call<{ streams: OpenStream[] }>(late, "join_session", {
      sessionId: session.id,
      lastSeq: 0,
    });
    expect(ack.streams).toEqual([
      expect.objectContaining({ id: "c-join", senderId: "bot", content: "Hello, ", nextIndex: 2 }),
    ]);
    await call(bot, "stream:delta", { id: "c-join", sessionId: session.id, index: 2, delta: "b" });
    await received(seen, "stream:delta", "c-join");
    expect(deltasOf(seen, "c-join")).toEqual(["b"]);
  });

  it("lists a stream opened before the node started, with its text so far, and relays the rest there", async () => {
    const db = await createTestDatabase({ max: 5 });
    cleanups.push(() => db.drop());
    const a = await startNode({ db, nodeId: "st-a" });
    cleanups.push(() => a.close());
    await waitFor(() => a.gateway.realtime.clusterReady(), 10_000, "listener of a");
    const session = await a.gateway.messaging.createSession(
      { id: "alice", kind: "user" },
      { members: ["bot"] },
    );
    const bot = await agentOn(a, "bot");
    await streamText(bot, session.id, "c-before", ["Hello", ", "]);
    // Started after the stream opened: it heard none of its relays.
    const b = await startNode({ db, nodeId: "st-b" });
    cleanups.push(() => b.close());
    await waitFor(() => b.gateway.realtime.clusterReady(), 10_000, "listener of b");
    const user = await userOn(b, "alice");
    const seen = streamEvents(user);
    // b learns it from a's answer to the ask b sends once its listener is up.
    let streams: OpenStream[] = [];
    await waitFor(
      async () => {
        const ack = await call<{ streams: OpenStream[] }>(user, "join_session", {
          sessionId: session.id,
        });
        streams = ack.streams;
        return streams.length > 0;
      },
      5_000,
      "the stream in b's join ack",
    );
    expect(streams).toEqual([
      expect.objectContaining({
        id: "c-before",
        senderId: "bot",
        senderKind: "agent",
        visibility: "session",
        content: "Hello, ",
        nextIndex: 2,
      }),
    ]);
    await call(bot, "stream:delta", {
      id: "c-before",
      sessionId: session.id,
      index: 2,
      delta: "world",
    });
    await received(seen, "stream:delta", "c-before");
    expect(deltasOf(seen, "c-before")).toEqual(["world"]);
    expect(await call(bot, "stream:end", { id: "c-before", sessionId: session.id })).toMatchObject({
      status: "success",
      duplicate: false,
    });
    await received(seen, "message", "c-before");
    expect(seen.at(-1)?.payload).toMatchObject({ content: "Hello, world" });
    expect(await call(user, "join_session", { sessionId: session.id })).toMatchObject({
      streams: [],
    });
  });

  it("aborts on every node at once when the sender's sockets on its node are gone", async () => {
    const { a, b, session } = await cluster();
    const bot = await agentOn(a, "bot");
    // The sender's socket on the other node does not hold the stream open.
    await agentOn(b, "bot");
    const user = await userOn(b, "alice");
    await joined(session.id, user);
    const seen = streamEvents(user);
    await streamText(bot, session.id, "c-drop", ["x"]);
    await received(seen, "stream:delta", "c-drop");
    bot.disconnect();
    await received(seen, "stream:abort", "c-drop");
    expect(seen.at(-1)?.payload).toEqual({
      id: "c-drop",
      sessionId: session.id,
      reason: "disconnected",
    });
    const late = await userOn(b, "alice");
    expect(await call(late, "join_session", { sessionId: session.id })).toMatchObject({
      streams: [],
    });
  });

  it("aborts an idle stream on every node", async () => {
    const { a, b, session } = await cluster({ STREAM_IDLE_MS: "300" });
    const bot = await agentOn(a, "bot");
    const user = await userOn(b, "alice");
    await joined(session.id, user);
    const seen = streamEvents(user);
    await streamText(bot, session.id, "c-idle", ["x"]);
    await received(seen, "stream:abort", "c-idle");
    expect(eventsOf(seen, "c-idle")).toEqual(["stream:start", "stream:delta", "stream:abort"]);
    expect(seen.at(-1)?.payload).toMatchObject({ reason: "idle" });
  });
});

describe("stream routes over HTTP", () => {
  it("work on nodes, each call on any node: start on a, deltas on b, end on a", async () => {
    const { a, b, session } = await cluster();
    const token = await a.token("bot", "agent");
    const user = await userOn(b, "alice");
    const userA = await userOn(a, "carol");
    await joined(session.id, user, userA);
    const seen = streamEvents(user);
    const seenA = streamEvents(userA);
    const base = `/v1/sessions/${session.id}/streams`;

    const start = await http(a, token, base, { id: "h-1", type: "markdown" });
    expect(start).toEqual({
      status: 201,
      body: { id: "h-1", startedAt: expect.any(Number) },
    });
    await received(seen, "stream:start", "h-1");
    expect(await http(b, token, `${base}/h-1/deltas`, { index: 0, delta: "one " })).toEqual({
      status: 200,
      body: { id: "h-1", index: 0 },
    });
    expect(
      await http(b, token, `${base}/h-1/deltas`, {
        deltas: [
          { index: 1, delta: "two " },
          { index: 2, delta: "three" },
        ],
      }),
    ).toEqual({ status: 200, body: { id: "h-1", index: 2 } });
    await received(seenA, "stream:delta", "h-1", 3);
    expect(deltasOf(seenA, "h-1")).toEqual(["one ", "two ", "three"]);
    expect(deltasOf(seen, "h-1")).toEqual(["one ", "two ", "three"]);

    const end = await http(a, token, `${base}/h-1/end`, {});
    expect(end).toEqual({
      status: 201,
      body: { id: "h-1", seq: 1, createdAt: expect.any(Number), duplicate: false },
    });
    await received(seen, "message", "h-1");
    expect(seen.at(-1)?.payload).toMatchObject({ content: "one two three", type: "markdown" });
    expect((await http(b, token, `${base}/h-1/end`, {})).body).toMatchObject({ duplicate: true });

    await http(a, token, base, { id: "h-2" });
    expect(await http(b, token, `${base}/h-2/abort`, { reason: "cancelled" })).toEqual({
      status: 200,
      body: { id: "h-2" },
    });
    await received(seen, "stream:abort", "h-2");
    expect(seen.at(-1)?.payload).toEqual({ id: "h-2", sessionId: session.id, reason: "cancelled" });

    // Declared once, so the OpenAPI document has them.
    const doc = (await (await fetch(`${a.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const path of ["", "/{streamId}/deltas", "/{streamId}/end", "/{streamId}/abort"]) {
      expect(doc.paths[`/v1/sessions/{id}/streams${path}`]?.post, path).toBeDefined();
    }
  });

  it("answer bad input on a node with codes, changing nothing", async () => {
    const { a, session } = await cluster({ STREAM_DELTA_MAX_BYTES: "4" });
    const token = await a.token("bot", "agent");
    const stranger = await a.token("mallory", "user");
    const base = `/v1/sessions/${session.id}/streams`;
    await http(a, token, base, { id: "h-bad" });
    const code = async (t: string, path: string, body: unknown) => {
      const reply = await http(a, t, path, body);
      return [reply.status, reply.body.error?.code];
    };
    expect(await code(stranger, base, { id: "h-x" })).toEqual([403, "FORBIDDEN"]);
    expect(await code(token, base, { id: "h-x", visibility: "direct" })).toEqual([
      400,
      "INVALID_PAYLOAD",
    ]);
    expect(await code(token, base, { id: "h-bad" })).toEqual([409, "CONFLICT"]);
    expect(await code(token, `${base}/h-bad/deltas`, { index: 0, delta: "12345" })).toEqual([
      413,
      "TOO_LARGE",
    ]);
    expect(await code(token, `${base}/h-bad/deltas`, { deltas: [] })).toEqual([
      400,
      "INVALID_PAYLOAD",
    ]);
    expect(await code(stranger, `${base}/h-bad/deltas`, { index: 0, delta: "1" })).toEqual([
      403,
      "FORBIDDEN",
    ]);
    expect(await code(token, `${base}/h-none/end`, {})).toEqual([404, "NOT_FOUND"]);
    const user = await userOn(a, "alice");
    const ack = await call<{ streams: OpenStream[] }>(user, "join_session", {
      sessionId: session.id,
    });
    expect(ack.streams.map((s) => [s.id, s.content, s.nextIndex])).toEqual([["h-bad", "", 0]]);
  });

  it("work in a serverless function: relayed to both nodes, end stores the content it is given", async () => {
    const { db, a, b, session } = await cluster();
    const fn = createServerlessApp({
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      NODE_ID: "function",
    });
    cleanups.push(() => fn.close());
    const token = await a.token("bot", "agent");
    const userA = await userOn(a, "alice");
    const userB = await userOn(b, "carol");
    await joined(session.id, userA, userB);
    const seenA = streamEvents(userA);
    const seenB = streamEvents(userB);
    const base = `/v1/sessions/${session.id}/streams`;

    expect((await http(fn, token, base, { id: "f-1" })).status).toBe(201);
    expect(
      await http(fn, token, `${base}/f-1/deltas`, {
        deltas: [
          { index: 0, delta: "from " },
          { index: 1, delta: "a function" },
        ],
      }),
    ).toEqual({ status: 200, body: { id: "f-1", index: 1 } });
    await received(seenA, "stream:delta", "f-1", 2);
    await received(seenB, "stream:delta", "f-1", 2);
    expect(deltasOf(seenB, "f-1")).toEqual(["from ", "a function"]);
    // A join on either node lists the function's stream.
    const late = await userOn(b, "alice");
    const ack = await call<{ streams: OpenStream[] }>(late, "join_session", {
      sessionId: session.id,
    });
    expect(ack.streams).toEqual([
      expect.objectContaining({ id: "f-1", content: "from a function", nextIndex: 2 }),
    ]);

    // It keeps no text: the end needs its content.
    const bare = await http(fn, token, `${base}/f-1/end`, {});
    expect([bare.status, bare.body.error?.code]).toEqual([400, "INVALID_PAYLOAD"]);
    const end = await http(fn, token, `${base}/f-1/end`, { content: "from a function" });
    expect(end).toMatchObject({ status: 201, body: { id: "f-1", duplicate: false } });
    await received(seenA, "message", "f-1");
    await received(seenB, "message", "f-1");
    expect(eventsOf(seenB, "f-1")).toEqual([
      "stream:start",
      "stream:delta",
      "stream:delta",
      "message",
    ]);
    expect((await http(fn, token, `${base}/f-1/end`, {})).body).toMatchObject({ duplicate: true });
    const after = await call<{ streams: OpenStream[] }>(late, "join_session", {
      sessionId: session.id,
    });
    expect(after.streams).toEqual([]);

    await http(fn, token, base, { id: "f-2" });
    await received(seenB, "stream:start", "f-2");
    expect(await http(fn, token, `${base}/f-2/abort`, {})).toEqual({
      status: 200,
      body: { id: "f-2" },
    });
    await received(seenA, "stream:abort", "f-2");
    await received(seenB, "stream:abort", "f-2");
    expect(seenB.at(-1)?.payload).toEqual({ id: "f-2", sessionId: session.id, reason: "sender" });
    // Another principal's deltas to it are dropped by the nodes, whatever the function answered.
    const stranger = await a.token("mallory", "user");
    const refused = await http(fn, stranger, `${base}/f-2/deltas`, { index: 0, delta: "x" });
    expect([refused.status, refused.body.error?.code]).toEqual([403, "FORBIDDEN"]);
  });
});
