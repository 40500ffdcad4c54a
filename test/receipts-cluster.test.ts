/**
 * Receipts across nodes (PROTOCOL.md `receipt`): two gateways on one database, and the
 * serverless app beside them. A receipt on one node reaches the session's sockets on the other;
 * watermarks never move backwards when both nodes take receipts of one member and flush them.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import type { ReceiptEvent } from "../src/protocol/index.js";
import { createServerlessApp } from "../src/serverless/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, TEST_SECRET, type TestGateway, waitFor } from "./helpers/gateway.js";

const alice: Principal = { id: "alice", kind: "user" };
const a = sharedGateway({ nodeId: "receipts-a", sockets: "per-file" });
const b = sharedGateway({ nodeId: "receipts-b", sockets: "per-file", joins: a });

async function session(messages: number, members = ["bot"]) {
  const created = await a.gateway.messaging.createSession(alice, { members });
  for (let i = 0; i < messages; i++) {
    await a.gateway.messaging.sendMessage(alice, {
      id: `${created.id}-${i}`,
      sessionId: created.id,
      content: "hi",
      type: "text",
    });
  }
  return created.id;
}

async function joined(node: TestGateway, sub: string, kind: "user" | "agent", sessionId: string) {
  const socket = await connect(node.url, kind === "user" ? "/clients" : "/agents", {
    token: await node.token(sub, kind),
  });
  const ack = await call(socket, "join_session", { sessionId });
  expect(ack).toMatchObject({ status: "success" });
  return socket;
}

function receiptsSeen(socket: Socket): ReceiptEvent[] {
  const seen: ReceiptEvent[] = [];
  socket.on("receipt", (event: ReceiptEvent) => seen.push(event));
  return seen;
}

async function stored(sessionId: string, principalId: string) {
  const { rows } = await a.db.pool.query<{ delivered: string; read: string }>(
    "select delivered_seq as delivered, read_seq as read from session_members where session_id = $1 and principal_id = $2",
    [sessionId, principalId],
  );
  return { delivered: Number(rows[0]?.delivered), read: Number(rows[0]?.read) };
}

describe("receipts across nodes", () => {
  it("reach the session's sockets on the other node, in both namespaces", async () => {
    const sessionId = await session(3, ["bot", "bob"]);
    const aliceOnA = await joined(a, "alice", "user", sessionId);
    const botOnB = await joined(b, "bot", "agent", sessionId);
    const bobOnB = await joined(b, "bob", "user", sessionId);
    const atBot = receiptsSeen(botOnB);
    const atBob = receiptsSeen(bobOnB);

    await call(aliceOnA, "receipt", { sessionId, seq: 3, kind: "read" });
    const event = { sessionId, principalId: "alice", delivered: 3, read: 3 };
    await waitFor(() => atBot.length === 1 && atBob.length === 1, 5_000, "receipt on node b");
    expect(atBot).toEqual([event]);
    expect(atBob).toEqual([event]);

    // Node b learned it from the broadcast: its answers carry it before any flush.
    const late = await joined(b, "bob", "user", sessionId);
    const ack = await call(late, "join_session", { sessionId });
    expect(ack.receipts).toContainEqual({ principalId: "alice", delivered: 3, read: 3 });
  });

  it("never move backwards when both nodes take one member's receipts out of order and flush", async () => {
    const sessionId = await session(8);
    const onA = await joined(a, "alice", "user", sessionId);
    const onB = await joined(b, "alice", "user", sessionId);
    const atBot = receiptsSeen(await joined(b, "bot", "agent", sessionId));

    // Node b first holds the older value, node a the newer; a flushes first, then b.
    expect(await call(onB, "receipt", { sessionId, seq: 3, kind: "read" })).toMatchObject({
      read: 3,
    });
    expect(await call(onA, "receipt", { sessionId, seq: 6, kind: "read" })).toMatchObject({
      read: 6,
    });
    expect(await call(onB, "receipt", { sessionId, seq: 2, kind: "read" })).toMatchObject({
      status: "success",
    });
    await a.gateway.messaging.flushReceipts();
    await b.gateway.messaging.flushReceipts();
    expect(await stored(sessionId, "alice")).toEqual({ delivered: 6, read: 6 });
    // Then the reverse: b ahead (delivered 8), a behind; b flushes first.
    await call(onB, "receipt", { sessionId, seq: 8, kind: "delivered" });
    await call(onA, "receipt", { sessionId, seq: 7, kind: "delivered" });
    await b.gateway.messaging.flushReceipts();
    await a.gateway.messaging.flushReceipts();
    expect(await stored(sessionId, "alice")).toEqual({ delivered: 8, read: 6 });

    // Each node's answers end at the highest, whichever it took itself.
    for (const socket of [onA, onB]) {
      expect(await call(socket, "receipt", { sessionId, seq: 1, kind: "read" })).toEqual({
        status: "success",
        sessionId,
        delivered: 8,
        read: 6,
      });
    }
    // The other node's socket heard of the newest (receivers keep the greatest of what they hear).
    await waitFor(() => atBot.some((e) => e.delivered === 8), 5_000, "the last broadcast");
  });

  it("from the serverless API go straight to the table and reach sockets on a node", async () => {
    const sessionId = await session(4);
    const botOnA = await joined(a, "bot", "agent", sessionId);
    const atBot = receiptsSeen(botOnA);
    const fn = createServerlessApp({
      DATABASE_URL: a.db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      NODE_ID: "receipts-function",
    });
    try {
      const post = async (seq: number, kind: string) =>
        fn.fetch(
          new Request(`http://function.test/v1/sessions/${sessionId}/receipts`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${await a.token("alice", "user")}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ seq, kind }),
          }),
        );
      const res = await post(4, "delivered");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sessionId, delivered: 4, read: 0 });
      expect(await stored(sessionId, "alice")).toEqual({ delivered: 4, read: 0 });
      await waitFor(() => atBot.length === 1, 5_000, "receipt from the function");
      expect(atBot[0]).toEqual({ sessionId, principalId: "alice", delivered: 4, read: 0 });
      const lower = await post(2, "read");
      expect(await lower.json()).toEqual({ sessionId, delivered: 4, read: 2 });
      expect((await post(5, "read")).status).toBe(400);
      expect(await stored(sessionId, "alice")).toEqual({ delivered: 4, read: 2 });
    } finally {
      await fn.close();
    }
  });
});
