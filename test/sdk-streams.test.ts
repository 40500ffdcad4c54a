/**
 * The SDK's stream API against a real gateway: writing through a cut connection (deltas written
 * offline are not sent, the re-open carries the text so far, the end goes through the outbox and
 * is stored once), receiving (`stream` updates, a join mid-stream), and `connectAgent`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  connectAgent,
  type GatewayClient,
  type StoredMessage,
  type StreamUpdate,
} from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession, FAST } from "./sdk-fixtures.js";

let node: TestGateway;
let proxy: FaultProxy;
const client = clientFactory();

beforeAll(async () => {
  node = await startTestGateway();
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(() => proxy.accept());
afterAll(async () => {
  await proxy.close();
  await node.close();
});

interface Seen {
  streams: StreamUpdate[];
  messages: StoredMessage[];
  /** The last update of stream `id`, as "state:text". */
  last(id: string): string | undefined;
}

function watch(c: GatewayClient): Seen {
  const seen: Seen = {
    streams: [],
    messages: [],
    last(id) {
      const update = seen.streams.filter((s) => s.id === id).at(-1);
      return update && `${update.state}:${update.content}`;
    },
  };
  c.on("stream", (update) => seen.streams.push(update));
  c.on("message", (message) => seen.messages.push(message));
  return seen;
}

async function stored(sessionId: string, owner: string) {
  const page = await node.gateway.messaging.readMessages(
    { id: owner, kind: "user" },
    sessionId,
    0,
    500,
  );
  return page.messages;
}

async function viewer(sessionId: string, sub: string) {
  const user = client({
    url: node.url,
    namespace: "/clients",
    token: await node.token(sub, "user"),
  });
  const seen = watch(user);
  await user.joinSession(sessionId);
  return { user, seen };
}

describe("SDK streams: writing", () => {
  it("survives a cut connection: offline deltas are not sent, the re-open carries the text so far, and the end is stored once", async () => {
    const session = await createSession(node, "una", ["writer"]);
    const { seen } = await viewer(session.id, "una");
    const writer = client({
      url: proxy.url,
      namespace: "/agents",
      token: await node.token("writer", "agent"),
    });
    await writer.ready();
    const stream = writer.stream(session.id, { type: "markdown" });
    await waitFor(() => seen.last(stream.id) === "open:", 5_000, "the start");
    stream.write("Hello ");
    await waitFor(() => seen.last(stream.id) === "open:Hello ", 5_000, "the first delta");

    proxy.refuse();
    proxy.cut();
    await waitFor(() => writer.status === "reconnecting", 5_000, "the writer offline");
    expect(stream.write("world")).toBe(false); // not sent, kept for the re-open
    // The server saw the writer go and aborted the stream: viewers are told.
    await waitFor(() => seen.last(stream.id)?.startsWith("aborted:") === true, 5_000, "abort");
    expect(seen.streams.some((s) => s.content.includes("world"))).toBe(false);

    proxy.accept();
    await waitFor(() => seen.last(stream.id) === "open:Hello world", 5_000, "the re-open");
    expect(stream.write("!")).toBe(true);
    await waitFor(() => seen.last(stream.id) === "open:Hello world!", 5_000, "a live delta");
    const ack = await stream.end();
    expect(ack).toMatchObject({ id: stream.id, duplicate: false });
    await waitFor(() => seen.messages.length === 1, 5_000, "the stored message");
    expect(seen.messages[0]).toMatchObject({
      id: stream.id,
      content: "Hello world!",
      type: "markdown",
      senderId: "writer",
    });
    expect((await stored(session.id, "una")).map((m) => [m.id, m.content])).toEqual([
      [stream.id, "Hello world!"],
    ]);
    expect(writer.openStreams(session.id)).toEqual([]);
  });

  it("sends an end made while offline through the outbox after the reconnect, stored once", async () => {
    const session = await createSession(node, "vic", ["writer2"]);
    const { seen } = await viewer(session.id, "vic");
    const writer = client({
      url: proxy.url,
      namespace: "/agents",
      token: await node.token("writer2", "agent"),
    });
    await writer.ready();
    const stream = writer.stream(session.id);
    stream.write("abc");
    await waitFor(() => seen.last(stream.id) === "open:abc", 5_000, "the text");
    proxy.refuse();
    proxy.cut();
    await waitFor(() => writer.status === "reconnecting", 5_000, "the writer offline");
    stream.write("def");
    const ended = stream.end();
    await waitFor(() => writer.outboxSize === 1, 5_000, "the end in the outbox");
    expect(await stored(session.id, "vic")).toEqual([]);
    proxy.accept();
    const ack = await ended;
    expect(ack.duplicate).toBe(false);
    expect((await stored(session.id, "vic")).map((m) => m.content)).toEqual(["abcdef"]);
    await waitFor(() => seen.messages.length === 1, 5_000, "the message live");
    expect(seen.messages[0]?.id).toBe(stream.id);
    expect(() => stream.write("more")).toThrow(/ended/);
  });

  it("keeps viewers up to date when the writer outpaces STREAM_DELTA_RATE_LIMIT: refused deltas go again in order", async () => {
    const limited = await startTestGateway({ env: { STREAM_DELTA_RATE_LIMIT: "20" } });
    const session = await createSession(limited, "zed", ["fast"]);
    const user = client({
      url: limited.url,
      namespace: "/clients",
      token: await limited.token("zed", "user"),
    });
    const writer = client({
      url: limited.url,
      namespace: "/agents",
      token: await limited.token("fast", "agent"),
    });
    try {
      const seen = watch(user);
      await user.joinSession(session.id);
      await writer.ready();
      const stream = writer.stream(session.id);
      await waitFor(() => seen.last(stream.id) === "open:", 5_000, "the start");
      const errors: string[] = [];
      writer.on("error", (e) => errors.push(e.code));
      // A writer far faster than the limit (20/s, bursts of 40): written one by one, 80 pieces
      // would be refused past the burst, and a later delta is held until the refused one comes.
      let expected = "";
      for (let i = 0; i < 80; i++) {
        expected += `${i} `;
        stream.write(`${i} `);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await waitFor(() => seen.last(stream.id) === `open:${expected}`, 5_000, "the whole text");
      expect(errors).toEqual([]);
      await stream.end();
      const page = await limited.gateway.messaging.readMessages(
        { id: "zed", kind: "user" },
        session.id,
        0,
        10,
      );
      expect(page.messages.map((m) => m.content)).toEqual([expected]);
    } finally {
      await Promise.all([writer.close(), user.close()]);
      await limited.close();
    }
  });

  it("aborts: viewers are told with the reason and nothing is stored", async () => {
    const session = await createSession(node, "wes", ["writer3"]);
    const { seen } = await viewer(session.id, "wes");
    const writer = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("writer3", "agent"),
    });
    await writer.ready();
    const stream = writer.stream(session.id);
    stream.write("half an answ");
    await waitFor(() => seen.last(stream.id) === "open:half an answ", 5_000, "the text");
    await stream.abort("cancelled");
    await waitFor(() => seen.last(stream.id)?.startsWith("aborted:") === true, 5_000, "abort");
    expect(seen.streams.at(-1)?.reason).toBe("cancelled");
    expect(await stored(session.id, "wes")).toEqual([]);
  });
});

describe("SDK streams: receiving", () => {
  it("shows a stream joined mid-answer with its text so far, then its deltas, then the message replaces it", async () => {
    const session = await createSession(node, "xia", ["writer4"]);
    const writer = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("writer4", "agent"),
    });
    await writer.ready();
    const stream = writer.stream(session.id, { type: "markdown" });
    stream.write("part one, ");
    // Another viewer already in the session proves the text reached the server.
    const early = await viewer(session.id, "xia");
    const joinedLate = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("xia", "user"),
    });
    await waitFor(
      () =>
        early.seen.last(stream.id) === "open:part one, " ||
        early.user.openStreams(session.id).length > 0,
      5_000,
      "the text at the server",
    );
    const late = watch(joinedLate);
    await joinedLate.joinSession(session.id);
    expect(late.streams[0]).toMatchObject({
      id: stream.id,
      content: "part one, ",
      state: "open",
      senderId: "writer4",
      senderKind: "agent",
      type: "markdown",
    });
    expect(joinedLate.openStreams(session.id).map((s) => s.content)).toEqual(["part one, "]);
    stream.write("part two");
    await waitFor(() => late.last(stream.id) === "open:part one, part two", 5_000, "a delta");
    await stream.end();
    await waitFor(() => late.messages.length === 1, 5_000, "the message");
    expect(late.messages[0]).toMatchObject({ id: stream.id, content: "part one, part two" });
    expect(joinedLate.openStreams(session.id)).toEqual([]);
  });
});

describe("SDK streams: connectAgent", () => {
  it("streams a reply with reply.stream() and receives `stream` updates of others", async () => {
    const session = await createSession(node, "yan", ["streamer"]);
    const agent = await connectAgent({
      ...FAST,
      url: node.url,
      token: await node.token("streamer", "agent"),
      sessionId: session.id,
      onMessage: async (message, reply) => {
        const answer = reply.stream({ type: "markdown" });
        for (const word of ["**re:** ", message.content]) answer.write(word);
        await answer.end();
      },
    });
    onTestFinished(() => agent.close());
    const agentSaw = watch(agent.client);
    const { user, seen } = await viewer(session.id, "yan");

    const question = user.stream(session.id);
    question.write("why?");
    await waitFor(() => agentSaw.last(question.id) === "open:why?", 5_000, "the agent sees it");
    await question.end();
    await waitFor(() => seen.messages.some((m) => m.senderId === "streamer"), 5_000, "reply");
    const answer = seen.messages.find((m) => m.senderId === "streamer");
    expect(answer).toMatchObject({
      content: "**re:** why?",
      type: "markdown",
      replyTo: question.id,
      receiverId: "yan",
    });
    // The answer was a stream the user saw (at least its start) before it was stored.
    expect(seen.streams.some((s) => s.id === answer?.id)).toBe(true);
    expect(seen.messages.filter((m) => m.id === answer?.id)).toHaveLength(1);
  });
});
