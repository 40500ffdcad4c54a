/**
 * The edge smoke test, shared by the workerd and Deno entries: an edge-served API against a real
 * Postgres and a real gateway node, and the same requests to the node's own HTTP API.
 */
import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { createTokenVerifier } from "../../src/auth/tokens.js";
import { buildEdge } from "../../src/edge/build.js";
import type { ContextUpdateEvent } from "../../src/protocol/index.js";
import { Follower, filler } from "./cluster.js";
import {
  closeAllSockets,
  startTestGateway,
  TEST_SECRET,
  type TestGateway,
  waitFor,
} from "./gateway.js";

export interface EdgeServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the edge runtime on a free port with these variables. */
export type StartEdge = (env: Record<string, string>) => Promise<EdgeServer>;

export function edgeEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
  };
}

export async function call(
  base: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

function code(answer: { body: Record<string, unknown> | null }): unknown {
  return (answer.body?.error as { code?: unknown } | undefined)?.code;
}

/**
 * Sends through the edge: the ack carries the seq, and sockets on every node (both namespaces)
 * receive the message, a 60 KB one (the attachment path) and a context update; a repeat of an id
 * answers as a duplicate and publishes nothing.
 */
export async function publishesToNodeSockets(edge: string, nodes: TestGateway[]): Promise<void> {
  const [first, second] = nodes;
  if (!first || !second) throw new Error("two nodes needed");
  await waitFor(
    () => nodes.every((n) => n.gateway.realtime.clusterReady()),
    10_000,
    "the nodes' cluster listeners",
  );
  const token = await first.token("edge-agent", "agent");
  const created = await call(edge, "POST", "/v1/sessions", token, { members: ["alice", "bot"] });
  expect(created.status).toBe(201);
  const sessionId = created.body?.id as string;
  const followers = [
    await Follower.join(first.url, "/clients", await first.token("alice", "user"), sessionId),
    await Follower.join(second.url, "/agents", await second.token("bot", "agent"), sessionId),
  ];
  const contexts: ContextUpdateEvent[][] = followers.map(() => []);
  followers.forEach((f, i) => {
    f.socket.on("context:update", (update: ContextUpdateEvent) => contexts[i]?.push(update));
  });

  const path = `/v1/sessions/${sessionId}/messages`;
  const message = { id: "e-1", content: "from the edge", type: "text" };
  const sent = await call(edge, "POST", path, token, message);
  expect(sent.status).toBe(201);
  expect(sent.body).toMatchObject({ seq: 1, duplicate: false });
  await waitFor(() => followers.every((f) => f.live === 1), 5_000, "the message on both nodes");
  for (const follower of followers) {
    expect(follower.held.get(1)).toMatchObject({
      id: "e-1",
      seq: 1,
      senderId: "edge-agent",
      senderName: "edge-agent",
      content: "from the edge",
    });
  }
  const read = await call(edge, "GET", `${path}?afterSeq=0`, token);
  expect(read.body?.messages).toMatchObject([{ id: "e-1", senderName: "edge-agent" }]);

  const again = await call(edge, "POST", path, token, message);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ seq: 1, duplicate: true });

  const big = await call(edge, "POST", path, token, {
    id: "e-2",
    content: filler(60_000, "edge"),
    type: "text",
  });
  expect(big.body).toMatchObject({ seq: 2, duplicate: false });
  const put = await call(edge, "PUT", `/v1/sessions/${sessionId}/contexts/plan`, token, {
    contextData: { step: 1 },
  });
  expect(put.status).toBe(200);
  await waitFor(
    () => followers.every((f, i) => f.live === 2 && contexts[i]?.length === 1),
    5_000,
    "the 60 KB message and the context update on both nodes",
  );
  for (const [i, follower] of followers.entries()) {
    expect(follower.held.get(2)?.content).toBe(filler(60_000, "edge"));
    // The repeat published nothing: two live messages, no duplicate seq.
    expect(follower.liveDuplicates).toBe(0);
    expect(contexts[i]?.[0]).toMatchObject({
      contextId: "plan",
      contextData: { step: 1 },
      version: 1,
      sourceAgentId: "edge-agent",
    });
  }
}

/** A bad token, a non-member and a bad payload get the same status and code as on the node. */
export async function refusesLikeTheNode(edge: string, node: TestGateway): Promise<void> {
  const owner = await node.token("owner", "agent");
  const created = await call(node.url, "POST", "/v1/sessions", owner, {});
  const path = `/v1/sessions/${created.body?.id as string}/messages`;
  const stranger = await node.token("stranger", "agent");
  const cases: Array<[string, string | undefined, unknown]> = [
    ["bad token", "not-a-jwt", { id: "x", content: "x", type: "text" }],
    ["no token", undefined, { id: "x", content: "x", type: "text" }],
    ["non-member", stranger, { id: "x", content: "x", type: "text" }],
    ["bad payload", owner, { id: "x", content: 42, type: "text" }],
    ["not JSON", owner, "{nope"],
  ];
  const expected = [401, 401, 403, 400, 400];
  for (const [index, [what, token, body]] of cases.entries()) {
    const viaNode = await call(node.url, "POST", path, token, body);
    const viaEdge = await call(edge, "POST", path, token, body);
    expect({ what, status: viaEdge.status, code: code(viaEdge) }).toEqual({
      what,
      status: viaNode.status,
      code: code(viaNode),
    });
    expect(viaEdge.status).toBe(expected[index]);
  }
  // Nothing was stored by any of them.
  const page = await call(node.url, "GET", path, owner);
  expect(page.body?.messages).toEqual([]);
}

/** A port with nothing listening: connections are refused at once. */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** With Postgres unreachable the edge answers 503 UNAVAILABLE, as the node's API does. */
export async function unavailableWithoutDatabase(startEdge: StartEdge): Promise<void> {
  const port = await deadPort();
  const edge = await startEdge(edgeEnv(`postgres://postgres:postgres@127.0.0.1:${port}/tkr`));
  try {
    const token = await createTokenVerifier({ secret: TEST_SECRET }).sign({
      sub: "edge-agent",
      kind: "agent",
    });
    const sent = await call(edge.url, "POST", "/v1/sessions/s1/messages", token, {
      id: "m1",
      content: "x",
      type: "text",
    });
    expect({ status: sent.status, code: code(sent) }).toEqual({ status: 503, code: "UNAVAILABLE" });
    const ready = await call(edge.url, "GET", "/readyz", undefined);
    expect(ready.status).toBe(503);
  } finally {
    await edge.close();
  }
}

export interface EdgeFixture {
  /** The edge runtime serving the bundle, against `node`'s database. */
  readonly edge: EdgeServer;
  /** Two gateway nodes on one database. */
  readonly node: TestGateway;
  readonly other: TestGateway;
  /** Starts another instance of the same bundle with other variables. */
  startEdge: StartEdge;
  /** The built bundle's path. */
  readonly script: string;
}

/**
 * Builds the `target` bundle, starts two gateway nodes on one database and the runtime with
 * `start(script, env)`, and stops them all after the file's tests.
 */
export function edgeFixture(
  target: "worker" | "deno",
  start: (script: string, env: Record<string, string>) => Promise<EdgeServer>,
): EdgeFixture {
  let script = "";
  let edge: EdgeServer | undefined;
  let node: TestGateway | undefined;
  let other: TestGateway | undefined;
  const startEdge: StartEdge = (env) => start(script, env);
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tkr-edge-test-"));
    script = (await buildEdge(target, dir)).file;
    node = await startTestGateway();
    other = await startTestGateway({ db: node.db });
    edge = await startEdge(edgeEnv(node.db.url));
  });
  afterAll(async () => {
    await edge?.close();
    await other?.close();
    await node?.close();
  });
  afterEach(() => closeAllSockets());
  const started = <T>(value: T | undefined): T => {
    if (!value) throw new Error("edgeFixture: started in beforeAll; use it in a test");
    return value;
  };
  return {
    get edge() {
      return started(edge);
    },
    get node() {
      return started(node);
    },
    get other() {
      return started(other);
    },
    startEdge,
    get script() {
      return started(script || undefined);
    },
  };
}
