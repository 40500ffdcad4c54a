import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMessaging, type Principal } from "../src/messaging/index.js";
import type { SessionHead, StoredMessage } from "../src/protocol/index.js";
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

beforeAll(async () => {
  db = await createTestDatabase();
  a = await startTestGateway({ db, nodeId: "node-a", env: { CLUSTER_HEAD_INTERVAL_MS: "500" } });
  b = await startTestGateway({ db, nodeId: "node-b", env: { CLUSTER_HEAD_INTERVAL_MS: "500" } });
  await waitFor(
    () => a.gateway.realtime.clusterReady() && b.gateway.realtime.clusterReady(),
    10_000,
    "listeners",
  );
});
afterAll(async () => {
  closeAllSockets();
  await a.close();
  await b.close();
  await db.drop();
});

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
    const silent = createMessaging({ db: db.db, pool: db.pool, maxContentBytes: 65_536 });
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
});
