/**
 * Receipts on one node (PROTOCOL.md `receipt`): the ack's watermarks, the broadcast, the checks,
 * monotonicity, the one-write-per-member-per-second bound, the join ack, `GET /v1/sessions/:id`,
 * the session list's `read`/`unread`, the HTTP route and the flush on shutdown.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import type { ReceiptEvent } from "../src/protocol/index.js";
import {
  connectAgent,
  connectUser,
  createSession,
  httpAs,
  sharedGateway,
} from "./helpers/fixture.js";
import {
  call,
  connect,
  flushed,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers/gateway.js";

const node = sharedGateway();

function receiptsSeen(socket: Socket): ReceiptEvent[] {
  const seen: ReceiptEvent[] = [];
  socket.on("receipt", (event: ReceiptEvent) => seen.push(event));
  return seen;
}

async function send(gateway: TestGateway, sender: string, sessionId: string, count: number) {
  const principal: Principal = { id: sender, kind: sender.startsWith("bot") ? "agent" : "user" };
  for (let i = 0; i < count; i++) {
    await gateway.gateway.messaging.sendMessage(principal, {
      id: `${sessionId}-${sender}-${i}-${Math.random().toString(36).slice(2, 8)}`,
      sessionId,
      content: `m${i}`,
      type: "text",
    });
  }
}

async function stored(gateway: TestGateway, sessionId: string, principalId: string) {
  const { rows } = await gateway.db.pool.query<{ delivered: string; read: string }>(
    "select delivered_seq as delivered, read_seq as read from session_members where session_id = $1 and principal_id = $2",
    [sessionId, principalId],
  );
  const row = rows[0];
  return row ? { delivered: Number(row.delivered), read: Number(row.read) } : undefined;
}

async function writes(gateway: TestGateway) {
  const { values } = await gateway.gateway.metrics.receiptWrites.get();
  const of = (unit: string) => values.find((v) => v.labels.unit === unit)?.value ?? 0;
  return { statements: of("statements"), rows: of("rows") };
}

const http = (sub: string, method: string, path: string, body?: unknown) =>
  httpAs(node, sub, "user", method, path, body);

describe("receipt", () => {
  it("acks the caller's watermarks and broadcasts them to the room in both namespaces", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 3);
    const alice = await connectUser(node, "alice");
    const bot = await connectAgent(node, "bot");
    for (const socket of [alice, bot])
      await call(socket, "join_session", { sessionId: session.id });
    const atBot = receiptsSeen(bot);
    const atAlice = receiptsSeen(alice);

    const ack = await call(alice, "receipt", { sessionId: session.id, seq: 2, kind: "delivered" });
    expect(ack).toEqual({ status: "success", sessionId: session.id, delivered: 2, read: 0 });
    const event = { sessionId: session.id, principalId: "alice", delivered: 2, read: 0 };
    await waitFor(() => atBot.length === 1 && atAlice.length === 1, 2_000, "receipt event");
    expect(atBot).toEqual([event]);
    expect(atAlice).toEqual([event]);
  });

  it("coalesces one member's broadcasts: the first at once, the rest once a second later", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 5);
    const alice = await connectUser(node, "alice");
    const bot = await connectAgent(node, "bot");
    for (const socket of [alice, bot])
      await call(socket, "join_session", { sessionId: session.id });
    const atBot = receiptsSeen(bot);
    const started = Date.now();
    for (let seq = 1; seq <= 5; seq++) {
      await call(alice, "receipt", { sessionId: session.id, seq, kind: "read" });
    }
    await waitFor(() => atBot.some((e) => e.read === 5), 3_000, "the coalesced broadcast");
    const waited = Date.now() - started;
    await flushed(bot);
    expect(atBot.map((e) => e.read)).toEqual([1, 5]);
    expect(waited).toBeGreaterThanOrEqual(900);
  });

  it("refuses a non-member, an unknown session and a seq past the head, and changes nothing", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 2);
    const alice = await connectUser(node, "alice");
    const mallory = await connectUser(node, "mallory");
    const bot = await connectAgent(node, "bot");
    await call(bot, "join_session", { sessionId: session.id });
    const atBot = receiptsSeen(bot);

    expect(
      await call(mallory, "receipt", { sessionId: session.id, seq: 1, kind: "read" }),
    ).toMatchObject({ status: "error", code: "FORBIDDEN", retryable: false });
    expect(
      await call(alice, "receipt", { sessionId: "no-such-session", seq: 1, kind: "read" }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    // Not joined: the head comes from the table. Joined: this node's knowledge, then the table.
    expect(
      await call(alice, "receipt", { sessionId: session.id, seq: 3, kind: "read" }),
    ).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    await call(alice, "join_session", { sessionId: session.id });
    expect(
      await call(alice, "receipt", { sessionId: session.id, seq: 99, kind: "delivered" }),
    ).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    for (const bad of [
      { sessionId: session.id, seq: -1, kind: "read" },
      { sessionId: session.id, seq: 1.5, kind: "read" },
      { sessionId: session.id, seq: 2 ** 53, kind: "read" },
      { sessionId: session.id, seq: 1, kind: "seen" },
      { sessionId: session.id, seq: 1, kind: "read", extra: true },
    ]) {
      expect(await call(alice, "receipt", bad)).toMatchObject({
        status: "error",
        code: "INVALID_PAYLOAD",
      });
    }
    await node.gateway.messaging.flushReceipts();
    expect(await stored(node, session.id, "alice")).toEqual({ delivered: 0, read: 0 });
    await flushed(bot);
    expect(atBot).toEqual([]);
  });

  it("never moves a watermark backwards: lower seqs are acked and ignored, read implies delivered", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 8);
    const alice = await connectUser(node, "alice");
    await call(alice, "join_session", { sessionId: session.id });
    const r = (seq: number, kind: string) =>
      call(alice, "receipt", { sessionId: session.id, seq, kind });

    expect(await r(4, "read")).toMatchObject({ delivered: 4, read: 4 });
    expect(await r(2, "delivered")).toMatchObject({ delivered: 4, read: 4 });
    expect(await r(1, "read")).toMatchObject({ delivered: 4, read: 4 });
    expect(await r(6, "delivered")).toMatchObject({ delivered: 6, read: 4 });
    expect(await r(3, "read")).toMatchObject({ delivered: 6, read: 4 });
    await node.gateway.messaging.flushReceipts();
    expect(await stored(node, session.id, "alice")).toEqual({ delivered: 6, read: 4 });

    // Another node raised the table past this node (its broadcast lost): a flush carrying this
    // node's older read watermark must not lower it, and teaches this node the newer one.
    await node.db.pool.query(
      "update session_members set read_seq = 5 where session_id = $1 and principal_id = 'alice'",
      [session.id],
    );
    expect(await r(7, "delivered")).toMatchObject({ delivered: 7, read: 4 });
    await node.gateway.messaging.flushReceipts();
    expect(await stored(node, session.id, "alice")).toEqual({ delivered: 7, read: 5 });
    expect(await r(1, "delivered")).toMatchObject({ delivered: 7, read: 5 });
  });

  it("writes a member at most once per second however many receipts it sends", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 10);
    const alice = await connectUser(node, "alice");
    await call(alice, "join_session", { sessionId: session.id });
    await node.gateway.messaging.flushReceipts();
    const before = await writes(node);
    const started = Date.now();
    const acks = [];
    for (let i = 0; i < 200; i++) {
      const seq = 1 + ((i * 7) % 10); // out of order, every seq 1..10
      acks.push(
        call(alice, "receipt", { sessionId: session.id, seq, kind: i % 2 ? "read" : "delivered" }),
      );
    }
    const answered = await Promise.all(acks);
    expect(answered.every((ack) => ack.status === "success")).toBe(true);
    const elapsed = Date.now() - started;
    await waitFor(
      async () => (await stored(node, session.id, "alice"))?.read === 10,
      5_000,
      "the flush",
    );
    const after = await writes(node);
    // One flush per second at most: the burst spans at most this many of them.
    const flushes = Math.ceil(elapsed / 1_000) + 1;
    expect(after.rows - before.rows).toBeGreaterThanOrEqual(1);
    expect(after.rows - before.rows).toBeLessThanOrEqual(flushes);
    expect(after.statements - before.statements).toBeLessThanOrEqual(flushes);
    expect(await stored(node, session.id, "alice")).toEqual({ delivered: 10, read: 10 });
  });

  it("needs no database read for a joined socket's receipts up to what the node has delivered", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    await send(node, "bot", session.id, 2);
    const alice = await connectUser(node, "alice");
    await call(alice, "join_session", { sessionId: session.id });
    const live = new Promise((resolve) => alice.once("message", resolve));
    await send(node, "bot", session.id, 1);
    await live;
    const { pool } = node.gateway.database;
    const query = pool.query.bind(pool);
    let reads = 0;
    pool.query = ((config: unknown, ...rest: unknown[]) => {
      if ((config as { name?: string })?.name === "tkr_receipt_member_state") reads++;
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof pool.query;
    try {
      for (let seq = 1; seq <= 3; seq++) {
        for (const kind of ["delivered", "read"]) {
          expect(await call(alice, "receipt", { sessionId: session.id, seq, kind })).toMatchObject({
            status: "success",
            delivered: seq,
          });
        }
      }
      expect(reads).toBe(0);
      // Past what the node knows: the table decides (and refuses).
      expect(
        await call(alice, "receipt", { sessionId: session.id, seq: 4, kind: "read" }),
      ).toMatchObject({ code: "INVALID_PAYLOAD" });
      expect(reads).toBe(1);
    } finally {
      pool.query = query;
    }
  });

  it("coalesces many members into one statement per flush", async () => {
    // A node of its own whose timer never flushes during the test: on a loaded machine the 20
    // receipts can span the shared node's 1 s flush, which then rightly writes them in two.
    const other = await startTestGateway({
      db: node.db,
      nodeId: "receipts-coalesce",
      env: { RECEIPT_FLUSH_MS: "60000" },
    });
    try {
      const members = Array.from({ length: 20 }, (_, i) => `member-${i}`);
      const session = await createSession(other, "alice", members);
      await send(other, "alice", session.id, 3);
      await other.gateway.messaging.flushReceipts();
      const before = await writes(other);
      await Promise.all(
        members.map((id) =>
          other.gateway.messaging.receipt(
            { id, kind: "user" },
            { sessionId: session.id, seq: 3, kind: "read" },
          ),
        ),
      );
      await other.gateway.messaging.flushReceipts();
      const after = await writes(other);
      expect(after.statements - before.statements).toBe(1);
      expect(after.rows - before.rows).toBe(20);
    } finally {
      await other.close();
    }
  });

  it("join_session's ack and GET /v1/sessions/:id carry every member's watermarks, unflushed ones included", async () => {
    const session = await createSession(node, "alice", ["bot", "carol"]);
    await send(node, "bot", session.id, 4);
    const alice = await connectUser(node, "alice");
    await call(alice, "join_session", { sessionId: session.id });
    await call(alice, "receipt", { sessionId: session.id, seq: 3, kind: "read" });
    await node.db.pool.query(
      "update session_members set delivered_seq = 4, read_seq = 2 where session_id = $1 and principal_id = 'bot'",
      [session.id],
    );
    const expected = [
      { principalId: "alice", delivered: 3, read: 3 },
      { principalId: "bot", delivered: 4, read: 2 },
      { principalId: "carol", delivered: 0, read: 0 },
    ];
    const bot = await connectAgent(node, "bot");
    const joined = await call(bot, "join_session", { sessionId: session.id, lastSeq: 0 });
    expect(joined).toMatchObject({ status: "success", headSeq: 4 });
    expect(joined.receipts).toEqual(expected);
    const plain = await call(bot, "join_session", { sessionId: session.id });
    expect(plain.receipts).toEqual(expected);

    const got = await http("carol", "GET", `/v1/sessions/${session.id}`);
    expect(got.status).toBe(200);
    expect(got.body.receipts).toEqual(expected);
  });

  it("lists the caller's read watermark and unread count (others' messages after it) per session", async () => {
    const session = await createSession(node, "dora", ["bot-u"]);
    await send(node, "bot-u", session.id, 3);
    await send(node, "dora", session.id, 2); // the caller's own: never unread
    await send(node, "bot-u", session.id, 1);
    const listed = async () => {
      const res = await http("dora", "GET", "/v1/sessions");
      const sessions = res.body.sessions as { id: string; read: number; unread: number }[];
      return sessions.find((s) => s.id === session.id);
    };
    expect(await listed()).toMatchObject({ read: 0, unread: 4 });

    const dora = await connectUser(node, "dora");
    await call(dora, "join_session", { sessionId: session.id });
    await call(dora, "receipt", { sessionId: session.id, seq: 2, kind: "read" });
    // Unflushed: the list uses this node's newer watermark.
    expect(await listed()).toMatchObject({ read: 2, unread: 2 });
    await node.gateway.messaging.flushReceipts();
    expect(await listed()).toMatchObject({ read: 2, unread: 2 });
    await call(dora, "receipt", { sessionId: session.id, seq: 6, kind: "read" });
    expect(await listed()).toMatchObject({ read: 6, unread: 0 });
  });

  it("POST /v1/sessions/:id/receipts raises the watermark, broadcasts it and answers the checks", async () => {
    const session = await createSession(node, "erin", ["bot"]);
    await send(node, "bot", session.id, 3);
    const bot = await connectAgent(node, "bot");
    await call(bot, "join_session", { sessionId: session.id });
    const atBot = receiptsSeen(bot);
    const path = `/v1/sessions/${session.id}/receipts`;

    const ok = await http("erin", "POST", path, { seq: 2, kind: "read" });
    expect(ok).toEqual({
      status: 200,
      body: { sessionId: session.id, delivered: 2, read: 2 },
    });
    await waitFor(() => atBot.length === 1, 2_000, "receipt event");
    expect(atBot[0]).toEqual({ sessionId: session.id, principalId: "erin", delivered: 2, read: 2 });
    const lower = await http("erin", "POST", path, { seq: 1, kind: "delivered" });
    expect(lower.body).toEqual({ sessionId: session.id, delivered: 2, read: 2 });

    expect((await http("erin", "POST", path, { seq: 4, kind: "read" })).status).toBe(400);
    expect((await http("erin", "POST", path, { seq: 1, kind: "nope" })).status).toBe(400);
    expect((await http("mallory", "POST", path, { seq: 1, kind: "read" })).status).toBe(403);
    expect(
      (await http("erin", "POST", "/v1/sessions/nope/receipts", { seq: 1, kind: "read" })).status,
    ).toBe(404);
    const doc = await (await fetch(`${node.url}/openapi.json`)).json();
    expect(doc.paths["/v1/sessions/{id}/receipts"]?.post).toBeDefined();
  });

  it("writes unflushed watermarks on a graceful shutdown", async () => {
    const db = node.db;
    const other = await startTestGateway({
      db,
      nodeId: "receipts-shutdown",
      env: { RECEIPT_FLUSH_MS: "60000" },
    });
    const session = await createSession(other, "fred", []);
    await send(other, "fred", session.id, 2);
    const fred = await connect(other.url, "/clients", { token: await other.token("fred", "user") });
    await call(fred, "join_session", { sessionId: session.id });
    expect(
      await call(fred, "receipt", { sessionId: session.id, seq: 2, kind: "read" }),
    ).toMatchObject({
      read: 2,
    });
    expect(await stored(node, session.id, "fred")).toEqual({ delivered: 0, read: 0 });
    await other.close();
    expect(await stored(node, session.id, "fred")).toEqual({ delivered: 2, read: 2 });
  });
});
