import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMessaging, type Principal } from "../src/messaging/index.js";
import type { SessionHead, StoredMessage } from "../src/protocol/index.js";
import { afterPositioningRead, countFanoutNotifies, Follower, filler } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import {
  call,
  closeAllSockets,
  connect,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers/gateway.js";

const alice: Principal = { id: "alice", kind: "user" };
let db: TestDatabase;
let a: TestGateway;
let b: TestGateway;
let c: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { CLUSTER_HEAD_INTERVAL_MS: "500" };
  a = await startTestGateway({ db, nodeId: "node-a", env });
  b = await startTestGateway({ db, nodeId: "node-b", env });
  c = await startTestGateway({ db, nodeId: "node-c", env });
  await waitFor(
    () => [a, b, c].every((node) => node.gateway.realtime.clusterReady()),
    10_000,
    "listeners",
  );
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  closeAllSockets();
  await Promise.all([a.close(), b.close(), c.close()]);
  await db.drop();
});

async function seqsInTable(sessionId: string): Promise<Array<{ seq: number; id: string }>> {
  const result = await db.pool.query<{ seq: number; id: string }>(
    "select seq, id from messages where session_id = $1 order by seq",
    [sessionId],
  );
  return result.rows;
}

describe("cluster", () => {
  it("delivers a message sent on one node to both namespaces on the other", async () => {
    const session = await a.gateway.messaging.createSession(alice, { members: ["bot", "bob"] });
    const agentOnA = await connect(a.url, "/agents", { token: await a.token("bot", "agent") });
    const userOnB = await connect(b.url, "/clients", { token: await b.token("alice", "user") });
    const agentOnB = await connect(b.url, "/agents", { token: await b.token("bot", "agent") });
    for (const s of [agentOnA, userOnB, agentOnB])
      await call(s, "join_session", { sessionId: session.id });
    const gotUser = new Promise<StoredMessage>((r) => userOnB.once("message", r));
    const gotAgent = new Promise<StoredMessage>((r) => agentOnB.once("message", r));
    const ack = await call(agentOnA, "message", {
      id: "x-1",
      sessionId: session.id,
      content: "across",
      type: "text",
    });
    expect(ack).toMatchObject({ status: "success", seq: 1 });
    expect(await gotUser).toMatchObject({ id: "x-1", seq: 1, content: "across" });
    expect(await gotAgent).toMatchObject({ id: "x-1", seq: 1 });
  });

  it("tells sockets on every node the head of a message whose broadcast was lost", async () => {
    const session = await a.gateway.messaging.createSession(alice, { members: ["bot"] });
    const onA = await connect(a.url, "/agents", { token: await a.token("bot", "agent") });
    const onB = await connect(b.url, "/clients", { token: await b.token("alice", "user") });
    await call(onA, "join_session", { sessionId: session.id });
    await call(onB, "join_session", { sessionId: session.id });
    const heads: Record<string, SessionHead[]> = { a: [], b: [] };
    onA.on("session:head", (h: SessionHead) => heads.a?.push(h));
    onB.on("session:head", (h: SessionHead) => heads.b?.push(h));
    // A writer that commits and then publishes nowhere: a node that died after commit.
    const silent = createMessaging({ db: db.db, maxContentBytes: 65_536 });
    await silent.sendMessage(alice, {
      id: "lost-1",
      sessionId: session.id,
      content: "lost",
      type: "text",
    });
    await waitFor(
      () =>
        (heads.a?.some((h) => h.seq === 1) ?? false) &&
        (heads.b?.some((h) => h.seq === 1) ?? false),
      15_000,
      "session:head on both nodes",
    );
    const synced = await call<{ messages: StoredMessage[] }>(onB, "sync", {
      sessionId: session.id,
      afterSeq: 0,
    });
    expect(synced.messages.map((m) => m.id)).toEqual(["lost-1"]);
  });

  it("runs the postgres adapter with a payload threshold under 8,000 bytes, error handling, and no connection-state recovery", () => {
    const io = a.gateway.realtime.io;
    // Connection-state recovery corrupts broadcasts with this adapter (ARCHITECTURE.md section 2).
    const serverOptions = (io as unknown as { opts: Record<string, unknown> }).opts;
    expect(serverOptions.connectionStateRecovery).toBeUndefined();
    for (const nsp of a.gateway.realtime.namespaces) {
      const opts = (nsp.adapter as unknown as { client: { opts: Record<string, unknown> } }).client
        .opts;
      expect(opts.payloadThreshold).toBeLessThan(8_000);
      expect(typeof opts.errorHandler).toBe("function");
    }
    const pool = a.gateway.realtime.cluster.pool as unknown as {
      options: Record<string, unknown>;
    };
    expect(pool.options).toMatchObject({ keepAlive: true, application_name: "tkr-cluster:node-a" });
  });

  it("gives 20 concurrent senders on 3 nodes in one session the seqs 1..200 once each, and every node's sockets all of them", async () => {
    const nodes = [a, b, c];
    const senders = 20;
    const perSender = 10;
    const total = senders * perSender;
    const members = Array.from({ length: senders }, (_, i) => `agent-${i}`);
    const session = await a.gateway.messaging.createSession(alice, { members });
    const followers = await Promise.all(
      nodes.map(async (node) =>
        Follower.join(node.url, "/clients", await node.token("alice", "user"), session.id),
      ),
    );
    const sockets = await Promise.all(
      members.map(async (member, i) => {
        const node = nodes[i % nodes.length] as TestGateway;
        return connect(node.url, "/agents", { token: await node.token(member, "agent") });
      }),
    );
    const counters = nodes.map((node) => countFanoutNotifies(node.gateway.realtime.cluster.pool));
    const acked = await Promise.all(
      sockets.map(async (socket, i) => {
        const seqs: number[] = [];
        for (let k = 0; k < perSender; k++) {
          const ack = await call<{ status: string; seq: number }>(socket, "message", {
            id: `c20-${i}-${k}`,
            sessionId: session.id,
            content: `from ${i}, number ${k}`,
            type: "text",
          });
          expect(ack.status).toBe("success");
          seqs.push(ack.seq);
        }
        return seqs;
      }),
    );
    const allSeqs = acked.flat().sort((x, y) => x - y);
    expect(allSeqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const rows = await seqsInTable(session.id);
    expect(rows.map((r) => r.seq)).toEqual(allSeqs);
    await waitFor(
      () => followers.every((f) => f.holdsExactly(total)),
      15_000,
      "every follower to hold 1..200",
    );
    for (const follower of followers) {
      for (const row of rows) expect(follower.held.get(row.seq)?.id).toBe(row.id);
    }
    const notifies = counters.reduce((sum, counter) => sum + counter.count, 0);
    // One server-side emit carries a batch to every other node: at most one NOTIFY a message.
    console.info(`fan-out NOTIFYs: ${notifies} for ${total} messages`);
    expect(notifies).toBeGreaterThan(0);
    expect(notifies).toBeLessThanOrEqual(total);
  });

  it("delivers messages of 7,999, 8,000, 8,001 and 60,000 bytes, mixed with small ones, complete to both namespaces on another node", async () => {
    const session = await a.gateway.messaging.createSession(alice, { members: ["bot"] });
    const user = await Follower.join(b.url, "/clients", await b.token("alice", "user"), session.id);
    const agent = await Follower.join(b.url, "/agents", await b.token("bot", "agent"), session.id);
    const sender = await connect(a.url, "/agents", { token: await a.token("bot", "agent") });
    const sizes = [10, 7_999, 20, 8_000, 30, 8_001, 40, 60_000, 50];
    const before = await db.pool.query<{ n: number }>(
      "select count(*)::int as n from socket_io_attachments",
    );
    // Sent without waiting for each ack, so large and small ones are in flight together.
    const acks = await Promise.all(
      sizes.map((bytes, i) =>
        call<{ status: string }>(sender, "message", {
          id: `size-${i}`,
          sessionId: session.id,
          content: filler(bytes, `m${i}`),
          type: "text",
        }),
      ),
    );
    expect(acks.every((ack) => ack.status === "success")).toBe(true);
    await waitFor(
      () => user.live >= sizes.length && agent.live >= sizes.length,
      10_000,
      "every message live on node b",
    );
    for (const follower of [user, agent]) {
      const byId = new Map([...follower.held.values()].map((m) => [m.id, m]));
      sizes.forEach((bytes, i) => {
        const got = byId.get(`size-${i}`);
        expect(Buffer.byteLength(got?.content ?? "")).toBe(bytes);
        expect(got?.content).toBe(filler(bytes, `m${i}`));
      });
    }
    const after = await db.pool.query<{ n: number }>(
      "select count(*)::int as n from socket_io_attachments",
    );
    // The large ones took the attachment path (NOTIFY refuses 8,000 bytes and more).
    expect(after.rows[0]?.n ?? 0).toBeGreaterThan(before.rows[0]?.n ?? 0);
  });

  it("announces the head to a node whose live fan-out skipped a seq, even after a later message arrived live", async () => {
    const session = await a.gateway.messaging.createSession(alice, { members: ["bot"] });
    const follower = await Follower.join(
      b.url,
      "/clients",
      await b.token("alice", "user"),
      session.id,
    );
    // Seq 1 is committed by a writer that publishes nowhere, seq 2 at once through node a, both
    // just after node b's positioning pass read the table (so only a later pass can tell).
    const silent = createMessaging({ db: db.db, maxContentBytes: 65_536 });
    const message = (id: string) => ({
      id,
      sessionId: session.id,
      content: id,
      type: "text" as const,
    });
    await afterPositioningRead(b.gateway.database.pool);
    await silent.sendMessage(alice, message("gap-1"));
    await a.gateway.messaging.sendMessage(alice, message("gap-2"));
    await waitFor(() => follower.held.has(2), 5_000, "seq 2 live");
    await waitFor(() => follower.holdsExactly(2), 15_000, "seq 1 through session:head and sync");
    expect(follower.heads.some((seq) => seq >= 2)).toBe(true);
    expect(follower.held.get(1)?.id).toBe("gap-1");
  });
});
