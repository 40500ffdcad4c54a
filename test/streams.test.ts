/**
 * Token streams on one node (PROTOCOL.md "Streams"): the socket events, their acks and
 * broadcasts, the join ack's open streams, the aborts, idempotency and bad input.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { OpenStream } from "../src/protocol/index.js";
import { connectAgent, connectUser, createSession, sharedGateway } from "./helpers/fixture.js";
import { call, flushed } from "./helpers/gateway.js";
import {
  deltasOf,
  eventsOf,
  joined,
  received,
  streamEvents,
  streamText,
} from "./helpers/streams.js";

type Ack = Record<string, unknown> & { status: string };

describe("streams on one node", () => {
  const node = sharedGateway();

  async function storedRows(id: string) {
    const { rows } = await node.db.pool.query<{ content: string; seq: number }>(
      "select content, seq from messages where id = $1",
      [id],
    );
    return rows;
  }

  async function room(owner = "alice", agent = "bot") {
    const session = await createSession(node, owner, [agent]);
    const bot = await connectAgent(node, agent);
    const user = await connectUser(node, owner);
    const otherTab = await connectUser(node, owner);
    await joined(session.id, bot, user, otherTab);
    return { session, bot, user, otherTab };
  }

  it("a direct stream reaches only its sender and receiver, live, in the join ack and stored", async () => {
    const session = await createSession(node, "alice", ["bot", "carol"]);
    const bot = await connectAgent(node, "bot");
    const alice = await connectUser(node, "alice");
    const carol = await connectUser(node, "carol");
    await joined(session.id, bot, alice, carol);
    const toAlice = streamEvents(alice);
    const toCarol = streamEvents(carol);

    await streamText(bot, session.id, "s-direct", ["for ", "you"], {
      receiverId: "alice",
      visibility: "direct",
    });
    await received(toAlice, "stream:delta", "s-direct", 2);
    const aliceLater = await connectUser(node, "alice");
    const carolLater = await connectUser(node, "carol");
    const aliceJoin = await call<Ack>(aliceLater, "join_session", { sessionId: session.id });
    const carolJoin = await call<Ack>(carolLater, "join_session", { sessionId: session.id });
    expect((aliceJoin.streams as OpenStream[]).map((s) => [s.id, s.content])).toEqual([
      ["s-direct", "for you"],
    ]);
    expect(carolJoin.streams).toEqual([]);

    const end = await call<Ack>(bot, "stream:end", { id: "s-direct", sessionId: session.id });
    expect(end).toMatchObject({ status: "success", duplicate: false });
    await received(toAlice, "message", "s-direct");
    // A session-wide message after it: once carol has it, she would have had the stream too.
    await call(bot, "message", {
      id: "after-direct",
      sessionId: session.id,
      content: "all",
      type: "text",
    });
    await received(toCarol, "message", "after-direct");
    expect(eventsOf(toCarol, "s-direct")).toEqual([]);
    expect(eventsOf(toAlice, "s-direct")).toEqual([
      "stream:start",
      "stream:delta",
      "stream:delta",
      "message",
    ]);
    const { rows } = await node.db.pool.query<{ visibility: string; receiver_id: string }>(
      "select visibility, receiver_id from messages where id = 's-direct'",
    );
    expect(rows).toEqual([{ visibility: "direct", receiver_id: "alice" }]);
  });

  it("relays start and deltas in order to both namespaces, not to the sending socket", async () => {
    const { session, bot, user, otherTab } = await room();
    const own = streamEvents(bot);
    const seen = streamEvents(user);
    const tab = streamEvents(otherTab);

    const ack = await call<Ack>(bot, "stream:start", {
      id: "s-relay",
      sessionId: session.id,
      type: "markdown",
      replyTo: "m-0",
      metadata: { model: "x" },
    });
    expect(ack).toEqual({ status: "success", id: "s-relay", startedAt: expect.any(Number) });
    for (const [index, delta] of ["Hel", "lo", ", world"].entries()) {
      bot.emit("stream:delta", { id: "s-relay", sessionId: session.id, index, delta }); // no ack
    }
    await received(seen, "stream:delta", "s-relay", 3);
    await received(tab, "stream:delta", "s-relay", 3);
    expect(seen[0]).toEqual({
      event: "stream:start",
      payload: {
        id: "s-relay",
        sessionId: session.id,
        senderId: "bot",
        senderKind: "agent",
        senderName: "bot",
        type: "markdown",
        visibility: "session",
        replyTo: "m-0",
        metadata: { model: "x" },
        startedAt: ack.startedAt,
      },
    });
    expect(seen[1]).toEqual({
      event: "stream:delta",
      payload: { id: "s-relay", sessionId: session.id, senderId: "bot", index: 0, delta: "Hel" },
    });
    expect(deltasOf(seen, "s-relay")).toEqual(["Hel", "lo", ", world"]);
    expect(deltasOf(tab, "s-relay")).toEqual(["Hel", "lo", ", world"]);
    await flushed(bot);
    expect(own).toEqual([]);
  });

  it("ends by storing the deltas joined as the message with the stream's id, once", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-end", ["one ", "two ", "three"], { type: "markdown" });
    const end = await call<Ack>(bot, "stream:end", { id: "s-end", sessionId: session.id });
    expect(end).toEqual({
      status: "success",
      id: "s-end",
      seq: expect.any(Number),
      createdAt: expect.any(Number),
      duplicate: false,
    });
    await received(seen, "message", "s-end");
    expect(eventsOf(seen, "s-end")).toEqual([
      "stream:start",
      "stream:delta",
      "stream:delta",
      "stream:delta",
      "message",
    ]);
    expect(seen.at(-1)?.payload).toMatchObject({
      id: "s-end",
      seq: end.seq,
      senderId: "bot",
      type: "markdown",
      content: "one two three",
    });
    expect(await storedRows("s-end")).toEqual([{ content: "one two three", seq: end.seq }]);
    // Over: the end again is a duplicate, a delta finds nothing, a join lists nothing.
    expect(await call(bot, "stream:end", { id: "s-end", sessionId: session.id })).toMatchObject({
      status: "success",
      seq: end.seq,
      duplicate: true,
    });
    expect(
      await call(bot, "stream:delta", { id: "s-end", sessionId: session.id, index: 3, delta: "x" }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    expect(await call(user, "join_session", { sessionId: session.id })).toMatchObject({
      streams: [],
    });
  });

  it("ends with the content given instead of the deltas, and its metadata", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-content", ["draft"], { metadata: { a: 1 } });
    const end = await call<Ack>(bot, "stream:end", {
      id: "s-content",
      sessionId: session.id,
      content: "final text",
      metadata: { tokens: 2 },
    });
    expect(end).toMatchObject({ status: "success", duplicate: false });
    await received(seen, "message", "s-content");
    expect(seen.at(-1)?.payload).toMatchObject({ content: "final text", metadata: { tokens: 2 } });
    expect(await storedRows("s-content")).toEqual([{ content: "final text", seq: end.seq }]);
  });

  it("writes nothing to the database for a start or a delta, once for the end", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await call(bot, "stream:start", { id: "s-writes", sessionId: session.id });
    const pool = node.gateway.database.pool;
    const query = pool.query.bind(pool);
    const statements: string[] = [];
    pool.query = ((...args: Parameters<typeof query>) => {
      const first = args[0] as unknown;
      statements.push(typeof first === "string" ? first : String((first as { text: string }).text));
      return query(...args);
    }) as typeof pool.query;
    try {
      for (let index = 0; index < 50; index++) {
        bot.emit("stream:delta", { id: "s-writes", sessionId: session.id, index, delta: "x" });
      }
      await received(seen, "stream:delta", "s-writes", 50);
      // The node's own chores (the connection audit, the context sweep, receipt flushes, the
      // adapter's cleanup) use the pool too, at times of their own: count what stores a message.
      const streamWrites = () =>
        statements.filter((s) => /\binsert\s+into\s+messages\b|\bupdate\s+sessions\b/i.test(s));
      expect(streamWrites()).toEqual([]);
      expect(statements.filter((s) => /messages/.test(s))).toEqual([]);
      await call(bot, "stream:end", { id: "s-writes", sessionId: session.id });
      expect(streamWrites()).toHaveLength(1);
    } finally {
      pool.query = query as typeof pool.query;
    }
    expect(await storedRows("s-writes")).toEqual([{ content: "x".repeat(50), seq: 1 }]);
  });

  it("aborts at the sender's word: relayed with its reason, nothing stored", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-abort", ["half"]);
    expect(
      await call(bot, "stream:abort", { id: "s-abort", sessionId: session.id, reason: "stop" }),
    ).toEqual({ status: "success", id: "s-abort" });
    await received(seen, "stream:abort", "s-abort");
    expect(seen.at(-1)?.payload).toEqual({ id: "s-abort", sessionId: session.id, reason: "stop" });
    expect(
      await call(bot, "stream:delta", {
        id: "s-abort",
        sessionId: session.id,
        index: 1,
        delta: "",
      }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    expect(await call(bot, "stream:abort", { id: "s-abort", sessionId: session.id })).toMatchObject(
      { status: "error", code: "NOT_FOUND" },
    );
    expect(await storedRows("s-abort")).toEqual([]);
  });

  it("lists open streams with their text so far in the join ack; later deltas arrive live", async () => {
    const { session, bot, user } = await room();
    await streamText(bot, session.id, "s-join", ["a", "b"], { type: "code" });
    const late = await connectUser(node, "alice");
    const seen = streamEvents(late);
    const ack = await call<Ack & { streams: OpenStream[] }>(late, "join_session", {
      sessionId: session.id,
      lastSeq: 0,
    });
    expect(ack.streams).toEqual([
      {
        id: "s-join",
        senderId: "bot",
        senderKind: "agent",
        senderName: "bot",
        type: "code",
        visibility: "session",
        startedAt: expect.any(Number),
        content: "ab",
        nextIndex: 2,
      },
    ]);
    await call(bot, "stream:delta", { id: "s-join", sessionId: session.id, index: 2, delta: "c" });
    await received(seen, "stream:delta", "s-join");
    expect(deltasOf(seen, "s-join")).toEqual(["c"]);
    await call(bot, "stream:end", { id: "s-join", sessionId: session.id });
    await received(seen, "message", "s-join");
    expect(seen.at(-1)?.payload).toMatchObject({ content: "abc" });
    void user;
  });

  it("aborts at once when the sender's last socket on the node is gone, not before", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    const botTwo = await connectAgent(node, "bot");
    const user = await connectUser(node, "alice");
    await joined(session.id, user);
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-drop", ["x"]);
    bot.disconnect();
    // The other socket of the same agent holds the stream open, and may write to it.
    expect(
      await call(botTwo, "stream:delta", {
        id: "s-drop",
        sessionId: session.id,
        index: 1,
        delta: "y",
      }),
    ).toMatchObject({ status: "success" });
    await received(seen, "stream:delta", "s-drop", 2);
    botTwo.disconnect();
    await received(seen, "stream:abort", "s-drop");
    expect(seen.at(-1)?.payload).toEqual({
      id: "s-drop",
      sessionId: session.id,
      reason: "disconnected",
    });
    expect(await storedRows("s-drop")).toEqual([]);
  });

  it("aborts a member's streams in the session when it is removed, reason removed", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-removed", ["x"]);
    await node.gateway.messaging.removeMember({ id: "alice", kind: "user" }, session.id, "bot");
    await received(seen, "stream:abort", "s-removed");
    expect(seen.at(-1)?.payload).toEqual({
      id: "s-removed",
      sessionId: session.id,
      reason: "removed",
    });
    expect(
      await call(bot, "stream:delta", {
        id: "s-removed",
        sessionId: session.id,
        index: 1,
        delta: "y",
      }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
  });

  it("acks a start for an id already stored like a duplicate message and opens nothing", async () => {
    const { session, bot, user } = await room();
    const sent = await call<Ack>(bot, "message", {
      id: "s-stored",
      sessionId: session.id,
      type: "text",
      content: "done",
    });
    const seen = streamEvents(user);
    const ack = await call<Ack>(bot, "stream:start", { id: "s-stored", sessionId: session.id });
    expect(ack).toEqual({
      status: "success",
      id: "s-stored",
      seq: sent.seq,
      createdAt: sent.createdAt,
      duplicate: true,
      startedAt: sent.createdAt,
    });
    expect(
      await call(bot, "stream:delta", {
        id: "s-stored",
        sessionId: session.id,
        index: 0,
        delta: "",
      }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    await flushed(user);
    expect(seen).toEqual([]);
  });

  it("refuses a second start of an open id, and another sender's or session's id, CONFLICT", async () => {
    const { session, bot, user } = await room();
    await streamText(bot, session.id, "s-twice", ["keep"]);
    expect(await call(bot, "stream:start", { id: "s-twice", sessionId: session.id })).toMatchObject(
      { status: "error", code: "CONFLICT", retryable: false },
    );
    expect(
      await call(user, "stream:start", { id: "s-twice", sessionId: session.id }),
    ).toMatchObject({ status: "error", code: "CONFLICT" });
    await call(user, "message", {
      id: "s-user",
      sessionId: session.id,
      type: "text",
      content: "u",
    });
    expect(await call(bot, "stream:start", { id: "s-user", sessionId: session.id })).toMatchObject({
      status: "error",
      code: "CONFLICT",
    });
    // The open stream is untouched.
    const ack = await call<Ack & { streams: OpenStream[] }>(user, "join_session", {
      sessionId: session.id,
    });
    expect(ack.streams.map((s) => [s.id, s.content])).toEqual([["s-twice", "keep"]]);
  });

  it("stores an end with content for a stream no longer open, like a message", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-late", ["lost"]);
    await call(bot, "stream:abort", { id: "s-late", sessionId: session.id });
    const end = await call<Ack>(bot, "stream:end", {
      id: "s-late",
      sessionId: session.id,
      content: "resent from the outbox",
      type: "markdown",
    });
    expect(end).toMatchObject({ status: "success", duplicate: false });
    await received(seen, "message", "s-late");
    expect(seen.at(-1)?.payload).toMatchObject({
      content: "resent from the outbox",
      type: "markdown",
    });
    // Never started, no content: nothing to store.
    expect(await call(bot, "stream:end", { id: "s-never", sessionId: session.id })).toMatchObject({
      status: "error",
      code: "NOT_FOUND",
    });
  });

  it("refuses bad input with a clear code and changes nothing", async () => {
    const { session, bot, user } = await room();
    const stranger = await connectUser(node, "mallory");
    await streamText(bot, session.id, "s-bad", ["ok"]);
    const seen = streamEvents(user);
    const expectCode = async (socket: Socket, event: string, payload: unknown, code: string) =>
      expect(await call(socket, event, payload)).toMatchObject({ status: "error", code });

    await expectCode(
      bot,
      "stream:start",
      { id: "s-x", sessionId: session.id, type: "x" },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:start",
      { id: "s-x", sessionId: session.id, extra: 1 },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:start",
      { id: "s-x", sessionId: session.id, visibility: "direct" },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:start",
      { id: "s-x", sessionId: session.id, visibility: "direct", receiverId: "mallory" },
      "INVALID_PAYLOAD",
    );
    await expectCode(stranger, "stream:start", { id: "s-x", sessionId: session.id }, "FORBIDDEN");
    await expectCode(bot, "stream:start", { id: "s-x", sessionId: "no-such" }, "NOT_FOUND");
    await expectCode(
      user,
      "stream:delta",
      { id: "s-bad", sessionId: session.id, index: 1, delta: "!" },
      "FORBIDDEN",
    );
    await expectCode(
      bot,
      "stream:delta",
      { id: "s-bad", sessionId: session.id, index: -1, delta: "" },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:delta",
      { id: "s-bad", sessionId: session.id, index: 1, delta: "\u0000" },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:delta",
      { id: "s-bad", sessionId: session.id, index: 5_000, delta: "?" },
      "INVALID_PAYLOAD",
    );
    await expectCode(
      bot,
      "stream:delta",
      { id: "s-none", sessionId: session.id, index: 0, delta: "" },
      "NOT_FOUND",
    );
    await expectCode(user, "stream:end", { id: "s-bad", sessionId: session.id }, "FORBIDDEN");
    await expectCode(user, "stream:abort", { id: "s-bad", sessionId: session.id }, "FORBIDDEN");
    await flushed(user);
    expect(seen).toEqual([]);
    const end = await call<Ack>(bot, "stream:end", { id: "s-bad", sessionId: session.id });
    expect(end).toMatchObject({ status: "success" });
    expect(await storedRows("s-bad")).toEqual([{ content: "ok", seq: end.seq }]);
  });

  it("acks a delta index already held without relaying it again", async () => {
    const { session, bot, user } = await room();
    const seen = streamEvents(user);
    await streamText(bot, session.id, "s-retry", ["a", "b"]);
    expect(
      await call(bot, "stream:delta", {
        id: "s-retry",
        sessionId: session.id,
        index: 1,
        delta: "b",
      }),
    ).toEqual({ status: "success", id: "s-retry", index: 1 });
    await call(bot, "stream:end", { id: "s-retry", sessionId: session.id });
    await received(seen, "message", "s-retry");
    expect(deltasOf(seen, "s-retry")).toEqual(["a", "b"]);
    expect(seen.at(-1)?.payload).toMatchObject({ content: "ab" });
  });
});

describe("stream limits", () => {
  const node = sharedGateway({
    env: {
      STREAM_MAX_OPEN_PER_PRINCIPAL: "2",
      STREAM_DELTA_MAX_BYTES: "8",
      MAX_CONTENT_BYTES: "20",
    },
  });

  it("refuses a stream past the open streams per principal, RATE_LIMITED until one ends", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    await call(bot, "stream:start", { id: "l-1", sessionId: session.id });
    await call(bot, "stream:start", { id: "l-2", sessionId: session.id });
    expect(await call(bot, "stream:start", { id: "l-3", sessionId: session.id })).toMatchObject({
      status: "error",
      code: "RATE_LIMITED",
      retryable: true,
    });
    // Another principal has its own count.
    const user = await connectUser(node, "alice");
    expect(await call(user, "stream:start", { id: "l-u", sessionId: session.id })).toMatchObject({
      status: "success",
    });
    await call(bot, "stream:abort", { id: "l-1", sessionId: session.id });
    expect(await call(bot, "stream:start", { id: "l-3", sessionId: session.id })).toMatchObject({
      status: "success",
    });
  });

  it("refuses a delta over STREAM_DELTA_MAX_BYTES and a text over MAX_CONTENT_BYTES, TOO_LARGE", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    const user = await connectUser(node, "alice");
    await joined(session.id, user);
    const seen = streamEvents(user);
    await call(bot, "stream:start", { id: "l-size", sessionId: session.id });
    const delta = (index: number, text: string) =>
      call(bot, "stream:delta", { id: "l-size", sessionId: session.id, index, delta: text });
    expect(await delta(0, "ééééé")).toMatchObject({ status: "error", code: "TOO_LARGE" }); // 10 bytes
    expect(await delta(0, "12345678")).toMatchObject({ status: "success" });
    expect(await delta(1, "12345678")).toMatchObject({ status: "success" });
    expect(await delta(2, "12345")).toMatchObject({ status: "error", code: "TOO_LARGE" }); // 21 > 20
    expect(await delta(2, "1234")).toMatchObject({ status: "success" });
    await received(seen, "stream:delta", "l-size", 3);
    expect(deltasOf(seen, "l-size")).toEqual(["12345678", "12345678", "1234"]);
    await call(bot, "stream:abort", { id: "l-size", sessionId: session.id });
  });
});

describe("stream delta rate", () => {
  const node = sharedGateway({ env: { STREAM_DELTA_RATE_LIMIT: "1" } });

  it("refuses deltas past STREAM_DELTA_RATE_LIMIT per stream, RATE_LIMITED, counting nothing", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    await call(bot, "stream:start", { id: "l-rate", sessionId: session.id });
    const acks = await Promise.all(
      Array.from({ length: 4 }, (_, index) =>
        call<Ack>(bot, "stream:delta", { id: "l-rate", sessionId: session.id, index, delta: "" }),
      ),
    );
    // A burst of twice the rate passes; the rest are refused and their index stays free.
    expect(acks.map((a) => a.status)).toEqual(["success", "success", "error", "error"]);
    expect(acks[2]).toMatchObject({ code: "RATE_LIMITED", retryable: true });
    // Another stream has its own bucket.
    await call(bot, "stream:start", { id: "l-rate-2", sessionId: session.id });
    expect(
      await call(bot, "stream:delta", {
        id: "l-rate-2",
        sessionId: session.id,
        index: 0,
        delta: "",
      }),
    ).toMatchObject({ status: "success" });
    const user = await connectUser(node, "alice");
    const ack = await call<Ack & { streams: OpenStream[] }>(user, "join_session", {
      sessionId: session.id,
    });
    expect(ack.streams.find((s) => s.id === "l-rate")?.nextIndex).toBe(2);
  });
});

describe("streams and the event buckets", () => {
  const node = sharedGateway({
    env: { PRINCIPAL_MSG_RATE_LIMIT: "1", SOCKET_RATE_LIMIT: "10" },
  });

  it("count deltas as events but not as messages; an end counts as both", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    await call(bot, "stream:start", { id: "b-1", sessionId: session.id });
    const delta = (index: number) =>
      call<Ack>(bot, "stream:delta", { id: "b-1", sessionId: session.id, index, delta: "." });
    // 1 start + 12 deltas: within the socket's burst of 20, far past the message burst of 2.
    const first = await Promise.all(Array.from({ length: 12 }, (_, i) => delta(i)));
    expect(first.map((a) => a.status)).toEqual(Array(12).fill("success"));
    // The end is a write: with two more messages it passes the message burst.
    const writes = await Promise.all([
      call<Ack>(bot, "stream:end", { id: "b-1", sessionId: session.id }),
      call<Ack>(bot, "message", { id: "b-m1", sessionId: session.id, type: "text", content: "1" }),
      call<Ack>(bot, "message", { id: "b-m2", sessionId: session.id, type: "text", content: "2" }),
    ]);
    expect(writes.map((a) => a.status)).toEqual(["success", "success", "error"]);
    expect(writes[2]).toMatchObject({ code: "RATE_LIMITED" });
    // Past the socket's burst, deltas are refused like any event.
    await call(bot, "stream:start", { id: "b-2", sessionId: session.id });
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call<Ack>(bot, "stream:delta", { id: "b-2", sessionId: session.id, index: i, delta: "" }),
      ),
    );
    expect(flood.some((a) => a.status === "error" && a.code === "RATE_LIMITED")).toBe(true);
  });
});

describe("stream idle abort", () => {
  const node = sharedGateway({ env: { STREAM_IDLE_MS: "600" } });

  it("aborts a stream with no delta for STREAM_IDLE_MS, reason idle; deltas keep it open", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const bot = await connectAgent(node, "bot");
    const user = await connectUser(node, "alice");
    await joined(session.id, user);
    const seen = streamEvents(user);
    const started = Date.now();
    await call(bot, "stream:start", { id: "i-1", sessionId: session.id });
    // Deltas 100 ms apart for 600 ms: as long as the idle time, and the stream is still open.
    for (let index = 0; index < 6; index++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(
        await call(bot, "stream:delta", { id: "i-1", sessionId: session.id, index, delta: "." }),
      ).toMatchObject({ status: "success" });
    }
    await received(seen, "stream:abort", "i-1");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
    expect(seen.at(-1)?.payload).toEqual({ id: "i-1", sessionId: session.id, reason: "idle" });
    expect(
      await call(bot, "stream:delta", { id: "i-1", sessionId: session.id, index: 6, delta: "." }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
  });
});
