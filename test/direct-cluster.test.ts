/**
 * Direct messages and targeted contexts across nodes: the inter-node fan-out carries them to
 * every node, and each node hands them only to its own sockets of the audience, whether a node
 * or the serverless app (HTTP without sockets) stored them.
 */
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import type { Context, StoredMessage } from "../src/protocol/index.js";
import { createServerlessApp, type ServerlessApp } from "../src/serverless/index.js";
import { type ClusterNode, startNode } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import {
  call,
  closeAllSockets,
  connect,
  flushed,
  TEST_SECRET,
  waitFor,
} from "./helpers/gateway.js";

let db: TestDatabase;
let a: ClusterNode;
let b: ClusterNode;
let fn: ServerlessApp;

beforeAll(async () => {
  db = await createTestDatabase({ max: 5 });
  a = await startNode({ db, nodeId: "dm-a" });
  b = await startNode({ db, nodeId: "dm-b" });
  await waitFor(
    () => a.gateway.realtime.clusterReady() && b.gateway.realtime.clusterReady(),
    10_000,
    "listeners",
  );
  fn = createServerlessApp({
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ID: "dm-function",
  });
});
afterAll(async () => {
  closeAllSockets();
  await fn?.close();
  await Promise.all([a?.close(), b?.close()]);
  await db?.drop();
});

const owner: Principal = { id: "x-carol", kind: "user" };

function collect<T>(socket: Socket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (item: T) => got.push(item));
  return got;
}

async function joined(node: ClusterNode, namespace: string, sub: string, sessionId: string) {
  const kind = namespace === "/agents" ? "agent" : "user";
  const socket = await connect(node.url, namespace, { token: await node.token(sub, kind) });
  await call(socket, "join_session", { sessionId });
  return socket;
}

async function post(path: string, sub: string, method: string, body: unknown) {
  const response = await fn.fetch(
    new Request(`http://function.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await a.token(sub, "agent")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("across nodes", () => {
  it("a direct message from a socket on one node, or from the serverless app, reaches only the receiver on the other", async () => {
    const session = await a.gateway.messaging.createSession(owner, {
      members: ["x-a", "x-b", "x-dave"],
    });
    const sender = await joined(a, "/agents", "x-a", session.id);
    const receiverOnB = await joined(b, "/agents", "x-b", session.id);
    const carolOnB = await joined(b, "/clients", "x-carol", session.id);
    const daveOnA = await joined(a, "/agents", "x-dave", session.id);
    const got = new Map(
      [receiverOnB, carolOnB, daveOnA].map((s) => [s, collect<StoredMessage>(s, "message")]),
    );
    const hiddenOnB = collect<{ seq: number }>(carolOnB, "message:hidden");
    const base = { sessionId: session.id, content: "psst", type: "text" };
    await call(sender, "message", { ...base, id: "x-1", visibility: "direct", receiverId: "x-b" });
    const viaFunction = await post(`/v1/sessions/${session.id}/messages`, "x-a", "POST", {
      id: "x-2",
      content: "psst again",
      type: "text",
      visibility: "direct",
      receiverId: "x-b",
    });
    expect(viaFunction.status).toBe(201);
    // A public message after both: once it is everywhere, the direct ones had their chance.
    await call(sender, "message", { ...base, id: "x-3" });
    const everyone = [receiverOnB, carolOnB, daveOnA];
    await waitFor(
      () => everyone.every((s) => got.get(s)?.some((m) => m.seq === 3)),
      5_000,
      "the public message on both nodes",
    );
    await flushed(...everyone);
    expect(
      got
        .get(receiverOnB)
        ?.map((m) => [m.seq, m.visibility])
        .sort(),
    ).toEqual([
      [1, "direct"],
      [2, "direct"],
      [3, "session"],
    ]);
    expect(got.get(carolOnB)?.map((m) => m.seq)).toEqual([3]);
    expect(hiddenOnB.map((h) => h.seq).sort()).toEqual([1, 2]);
    expect(got.get(daveOnA)?.map((m) => m.seq)).toEqual([3]);
  });

  it("a targeted context from the serverless app reaches only its targets on either node", async () => {
    const session = await a.gateway.messaging.createSession(owner, {
      members: ["y-a", "y-b", "y-dave"],
    });
    const targetOnB = await joined(b, "/agents", "y-b", session.id);
    const updaterOnA = await joined(a, "/agents", "y-a", session.id);
    const carolOnA = await joined(a, "/clients", "x-carol", session.id);
    const daveOnB = await joined(b, "/agents", "y-dave", session.id);
    const everyone = [targetOnB, updaterOnA, carolOnA, daveOnB];
    const got = new Map(everyone.map((s) => [s, collect<Context>(s, "context:update")]));
    const put = await post(`/v1/sessions/${session.id}/contexts/plan`, "y-a", "PUT", {
      contextData: { step: 1 },
      targets: ["y-b"],
      ttlSeconds: 600,
    });
    expect(put).toMatchObject({ status: 200, body: { version: 1 } });
    const open = await post(`/v1/sessions/${session.id}/contexts/notes`, "y-a", "PUT", {
      contextData: { step: 2 },
    });
    expect(open.status).toBe(200);
    await waitFor(
      () => everyone.every((s) => got.get(s)?.some((c) => c.contextId === "notes")),
      5_000,
      "the untargeted context everywhere",
    );
    await flushed(...everyone);
    for (const s of [targetOnB, updaterOnA]) {
      expect(got.get(s)?.map((c) => c.contextId)).toEqual(["plan", "notes"]);
      expect(got.get(s)?.[0]).toMatchObject({
        targets: ["y-b"],
        expiresAt: expect.any(Number),
        sourceAgentId: "y-a",
      });
    }
    for (const s of [carolOnA, daveOnB]) {
      expect(got.get(s)?.map((c) => c.contextId)).toEqual(["notes"]);
    }
  });
});
