import pg from "pg";
import type { Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import type { StoredMessage } from "../src/protocol/index.js";
import { createTestDatabase } from "./helpers/db.js";
import {
  call,
  closeAllSockets,
  connect,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers/gateway.js";

const alice: Principal = { id: "alice", kind: "user" };
const nodes: TestGateway[] = [];

async function start(options: Parameters<typeof startTestGateway>[0] = {}) {
  const node = await startTestGateway(options);
  nodes.push(node);
  return node;
}

afterEach(async () => {
  closeAllSockets();
  for (const node of nodes.splice(0)) await node.close();
});

describe("faults", () => {
  it("recovers messages sent while a client's transport was closed under it", async () => {
    const node = await start();
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const agent = await connect(node.url, "/agents", {
      token: await node.token("bot", "agent"),
      reconnection: true,
    });
    await call(agent, "join_session", { sessionId: session.id });
    const live: StoredMessage[] = [];
    agent.on("message", (m: StoredMessage) => live.push(m));
    await node.gateway.messaging.sendMessage(alice, {
      id: "before",
      sessionId: session.id,
      content: "1",
      type: "text",
    });
    await waitFor(() => live.length === 1, 3_000, "first message");

    const reconnected = new Promise((resolve) => agent.io.once("reconnect", resolve));
    agent.io.engine.close();
    for (let i = 0; i < 3; i++) {
      await node.gateway.messaging.sendMessage(alice, {
        id: `during-${i}`,
        sessionId: session.id,
        content: "x",
        type: "text",
      });
    }
    await reconnected;
    expect(await call(agent, "ping", {})).toMatchObject({ status: "success" });
    const lastSeq = Math.max(...live.map((m) => m.seq));
    const rejoined = await call<{ messages: StoredMessage[] }>(agent, "join_session", {
      sessionId: session.id,
      lastSeq,
    });
    const all = new Map([...live, ...rejoined.messages].map((m) => [m.seq, m.id]));
    expect([...all.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [1, "before"],
      [2, "during-0"],
      [3, "during-1"],
      [4, "during-2"],
    ]);
  });

  it("answers UNAVAILABLE (retryable) while the database refuses connections, and recovers", async () => {
    const db = await createTestDatabase();
    const node = await start({ db, env: { DATABASE_POOL_MAX: "2" } });
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const agent = await connect(node.url, "/agents", { token: await node.token("bot", "agent") });
    const admin = new pg.Client({ connectionString: db.url.replace(`/${db.name}`, "/postgres") });
    await admin.connect();
    try {
      // ALLOW_CONNECTIONS binds superusers too (CONNECTION LIMIT does not).
      await admin.query(`alter database ${db.name} allow_connections false`);
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
        [db.name],
      );
      const ack = await call(agent, "message", {
        id: "down-1",
        sessionId: session.id,
        content: "x",
        type: "text",
      });
      expect(ack).toMatchObject({ status: "error", code: "UNAVAILABLE", retryable: true });
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await admin.query(`alter database ${db.name} allow_connections true`);
      await admin.end();
    }
    const retried = await call(agent, "message", {
      id: "down-1",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    expect(retried).toMatchObject({ status: "success", seq: 1, duplicate: false });
    await waitFor(
      async () => (await fetch(`${node.url}/readyz`)).status === 200,
      10_000,
      "ready again",
    );
    await node.close();
    await db.drop();
  });

  it("keeps every acknowledged message when the node shuts down with 50 in flight", async () => {
    const db = await createTestDatabase();
    const node = await start({ db });
    const session = await node.gateway.messaging.createSession(alice, { members: ["bot"] });
    const agents: Socket[] = [];
    for (let i = 0; i < 5; i++)
      agents.push(await connect(node.url, "/agents", { token: await node.token("bot", "agent") }));
    const acked: string[] = [];
    const sends = Array.from({ length: 50 }, (_, i) => {
      const id = `inflight-${i}`;
      return call<{ status: string }>(
        agents[i % 5] as Socket,
        "message",
        { id, sessionId: session.id, content: "x", type: "text" },
        8_000,
      )
        .then((ack) => {
          if (ack.status === "success") acked.push(id);
        })
        .catch(() => {});
    });
    // Shut down while some sends are stored, others in the handlers and others on the wire.
    await waitFor(
      async () => {
        const r = await db.pool.query(
          "select count(*)::int as n from messages where session_id = $1",
          [session.id],
        );
        return r.rows[0].n >= 10;
      },
      5_000,
      "first messages stored",
    );
    await node.gateway.close();
    await Promise.all(sends);
    const stored = await db.pool.query<{ id: string }>(
      "select id from messages where session_id = $1",
      [session.id],
    );
    const storedIds = new Set(stored.rows.map((r) => r.id));
    expect(acked.length).toBeGreaterThan(0);
    for (const id of acked) expect(storedIds.has(id)).toBe(true);
    const seqs = await db.pool.query<{ seq: number }>(
      "select seq from messages where session_id = $1 order by seq",
      [session.id],
    );
    expect(seqs.rows.map((r) => r.seq)).toEqual(
      Array.from({ length: seqs.rows.length }, (_, i) => i + 1),
    );
    await db.drop();
  });

  it("refuses new connections while draining and lets clients reconnect to another node", async () => {
    const db = await createTestDatabase();
    const a = await start({ db });
    const b = await start({ db });
    const socket = await connect(a.url, "/clients", { token: await a.token("alice", "user") });
    const dropped = new Promise((resolve) => socket.once("disconnect", resolve));
    a.gateway.realtime.drain();
    const refused = (await connect(a.url, "/clients", {
      token: await a.token("alice", "user"),
    }).catch((e) => e)) as {
      data?: { code: string };
    };
    expect(refused.data?.code).toBe("UNAVAILABLE");
    await a.close();
    // A transport close, not a server disconnect: standard clients reconnect by themselves.
    expect(await dropped).toBe("transport close");
    const moved = await connect(b.url, "/clients", { token: await b.token("alice", "user") });
    expect(await call(moved, "ping", {})).toMatchObject({ status: "success" });
    await b.close();
    await db.drop();
  });
});
