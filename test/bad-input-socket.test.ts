/**
 * Values Postgres would refuse (NUL, lone surrogates, integers out of their column's range, JSON
 * nested past the documented depth) are the client's error: INVALID_PAYLOAD, not retryable,
 * nothing stored, and they never cost another sender in the same batch anything.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Principal } from "../src/messaging/index.js";
import { MAX_JSON_DEPTH } from "../src/protocol/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect } from "./helpers/gateway.js";

const node = sharedGateway();
const alice: Principal = { id: "alice", kind: "user" };

type AckReply = {
  status: string;
  code?: string;
  retryable?: boolean;
  seq?: number;
  message?: string;
};

const refused = { status: "error", code: "INVALID_PAYLOAD", retryable: false };

async function storedIds(sessionId: string): Promise<string[]> {
  const r = await node.db.pool.query<{ id: string }>(
    "select id from messages where session_id = $1 order by seq",
    [sessionId],
  );
  return r.rows.map((row) => row.id);
}

/** `{ a: { a: ... } }` with `levels` objects in all, the outermost included. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** An array nested `levels` deep, built without recursion. */
function deepArray(levels: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/**
 * Emits `event` with a payload written as raw JSON over a bare Engine.IO WebSocket, and resolves
 * with the ack. socket.io-client's encoder walks payloads recursively, so it cannot send one
 * nested 100,000 deep; the server's parser is a plain JSON.parse and can.
 */
async function rawEmit(
  namespace: string,
  token: string,
  event: string,
  payloadJson: string,
): Promise<AckReply> {
  const url = `${node.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  try {
    return await new Promise<AckReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for raw ${event}`)), 10_000);
      ws.on("error", reject);
      ws.on("message", (data) => {
        const text = String(data);
        if (text.startsWith("0")) ws.send(`40${namespace},${JSON.stringify({ token })}`);
        else if (text === "2") ws.send("3");
        else if (text.startsWith(`40${namespace},`)) {
          ws.send(`42${namespace},7[${JSON.stringify(event)},${payloadJson}]`);
        } else if (text.startsWith(`43${namespace},7`)) {
          clearTimeout(timer);
          resolve((JSON.parse(text.slice(`43${namespace},7`.length)) as AckReply[])[0] as AckReply);
        } else if (text.startsWith(`44${namespace}`)) reject(new Error(text));
      });
    });
  } finally {
    ws.close();
  }
}

/** JSON text of an array nested `levels` deep. */
const deepArrayJson = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

async function aliceSocket() {
  return connect(node.url, "/clients", { token: await node.token("alice", "user") });
}

describe("bad input over Socket.IO", () => {
  it("refuses NUL messages in a concurrent batch without failing the good ones around them", async () => {
    const session = await node.gateway.messaging.createSession(alice, { members: ["mallory"] });
    const a = await aliceSocket();
    const m = await connect(node.url, "/clients", { token: await node.token("mallory", "user") });
    const good = Array.from({ length: 100 }, (_, i) =>
      call<AckReply>(a, "message", {
        id: `alice-${i}`,
        sessionId: session.id,
        content: `hello ${i}`,
        type: "text",
      }),
    );
    const bad = Array.from({ length: 10 }, (_, i) =>
      call<AckReply>(m, "message", {
        id: `mallory-${i}`,
        sessionId: session.id,
        content: `evil\u0000${i}`,
        type: "text",
      }),
    );
    const [goodAcks, badAcks] = await Promise.all([Promise.all(good), Promise.all(bad)]);
    expect(goodAcks.filter((ack) => ack.status !== "success")).toEqual([]);
    expect(goodAcks.map((ack) => ack.seq).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    for (const ack of badAcks) expect(ack).toMatchObject(refused);
    const ids = await storedIds(session.id);
    expect(ids).toHaveLength(100);
    expect(ids.filter((id) => id.startsWith("mallory"))).toEqual([]);
  });

  it("refuses NUL or lone surrogates in content and in metadata keys and values, storing nothing", async () => {
    const session = await node.gateway.messaging.createSession(alice, {});
    const socket = await aliceSocket();
    const cases: Record<string, Record<string, unknown>> = {
      "NUL in content": { content: "a\u0000b" },
      "lone high surrogate in content": { content: "a\uD800b" },
      "lone low surrogate in content": { content: "\uDC00" },
      "surrogate at the end of content": { content: "ab\uD83D" },
      "NUL in a metadata value": { content: "x", metadata: { note: "a\u0000" } },
      "NUL in a metadata key": { content: "x", metadata: { "k\u0000": 1 } },
      "lone surrogate in metadata": { content: "x", metadata: { list: ["\uDFFF"] } },
      "lone surrogate in a nested key": { content: "x", metadata: { a: { "\uD800": 1 } } },
    };
    for (const [name, fields] of Object.entries(cases)) {
      const ack = await call<AckReply>(socket, "message", {
        id: `m-${name.replaceAll(" ", "-")}`,
        sessionId: session.id,
        type: "text",
        ...fields,
      });
      expect({ name, ...ack }).toMatchObject({ name, ...refused });
    }
    expect(await storedIds(session.id)).toEqual([]);
    // A proper surrogate pair (an emoji) is fine.
    const ok = await call<AckReply>(socket, "message", {
      id: "emoji",
      sessionId: session.id,
      type: "text",
      content: "hi \uD83D\uDE00",
      metadata: { "\uD83D\uDE00": "\uD83D\uDE00" },
    });
    expect(ok).toMatchObject({ status: "success", seq: 1 });
    const page = await node.gateway.messaging.readMessages(alice, session.id, 0, 10);
    expect(page.messages[0]?.content).toBe("hi \uD83D\uDE00");
  });

  it("refuses integers beyond their columns: expectedVersion >= 2^31, seqs and timestamps past 2^53", async () => {
    const session = await node.gateway.messaging.createSession(alice, {});
    const agent = await connect(node.url, "/agents", { token: await node.token("bot", "agent") });
    await node.gateway.messaging.addMember(alice, session.id, "bot");
    const acks = [
      await call<AckReply>(agent, "context:update", {
        sessionId: session.id,
        contextId: "plan",
        contextData: {},
        expectedVersion: 2 ** 31,
      }),
      await call<AckReply>(agent, "message", {
        id: "big-ts",
        sessionId: session.id,
        content: "x",
        type: "text",
        timestamp: 2 ** 63,
      }),
      await call<AckReply>(agent, "sync", { sessionId: session.id, afterSeq: 2 ** 64 }),
      await call<AckReply>(agent, "join_session", { sessionId: session.id, lastSeq: 1e300 }),
    ];
    for (const ack of acks) expect(ack).toMatchObject(refused);
    const ok = await call<AckReply>(agent, "context:update", {
      sessionId: session.id,
      contextId: "plan",
      contextData: {},
      expectedVersion: 2 ** 31 - 1,
    });
    expect(ok).toMatchObject({ status: "error", code: "CONFLICT" });
  });

  it("refuses contextData with NUL or lone surrogates", async () => {
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const agent = await connect(node.url, "/agents", { token: await node.token("bot", "agent") });
    for (const contextData of [{ "\u0000": 1 }, { v: "\u0000" }, { v: ["\uD800"] }]) {
      const ack = await call<AckReply>(agent, "context:update", {
        sessionId: session.id,
        contextId: "plan",
        contextData,
      });
      expect(ack).toMatchObject(refused);
    }
    expect(await node.gateway.messaging.getContexts(alice, session.id)).toEqual([]);
  });

  it(`accepts metadata and contextData ${MAX_JSON_DEPTH} levels deep and refuses one more`, async () => {
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const socket = await aliceSocket();
    const agent = await connect(node.url, "/agents", { token: await node.token("bot", "agent") });
    const send = (id: string, metadata: unknown) =>
      call<AckReply>(socket, "message", {
        id,
        sessionId: session.id,
        content: "x",
        type: "text",
        metadata,
      });
    expect(await send("deep-ok", nested(MAX_JSON_DEPTH))).toMatchObject({ status: "success" });
    expect(await send("deep-bad", nested(MAX_JSON_DEPTH + 1))).toMatchObject(refused);
    expect(await send("deep-arr", { a: deepArray(MAX_JSON_DEPTH) })).toMatchObject(refused);
    const context = (contextData: unknown) =>
      call<AckReply>(agent, "context:update", {
        sessionId: session.id,
        contextId: "deep",
        contextData,
      });
    expect(await context(nested(MAX_JSON_DEPTH))).toMatchObject({ status: "success" });
    expect(await context(nested(MAX_JSON_DEPTH + 1))).toMatchObject(refused);
    expect(await storedIds(session.id)).toEqual(["deep-ok"]);
  });

  it("answers payloads nested 100,000 levels deep with INVALID_PAYLOAD and keeps serving", async () => {
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const userToken = await node.token("alice", "user");
    const agentToken = await node.token("bot", "agent");
    const deep = deepArrayJson(100_000);
    const acks = [
      await rawEmit(
        "/clients",
        userToken,
        "message",
        `{"id":"very-deep","sessionId":"${session.id}","content":"x","type":"text","metadata":{"a":${deep}}}`,
      ),
      await rawEmit(
        "/agents",
        agentToken,
        "context:update",
        `{"sessionId":"${session.id}","contextId":"deep","contextData":{"a":${deep}}}`,
      ),
      await rawEmit("/clients", userToken, "message", deep),
      await rawEmit("/clients", userToken, "sync", deep),
    ];
    for (const ack of acks) expect(ack).toMatchObject(refused);
    const socket = await aliceSocket();
    expect(await call<AckReply>(socket, "ping", {})).toMatchObject({ status: "success" });
    expect(await storedIds(session.id)).toEqual([]);
    expect(await node.gateway.messaging.getContexts(alice, session.id)).toEqual([]);
  });
});
