/**
 * The serverless app (src/serverless): the HTTP API without a Socket.IO server, publishing in the
 * postgres adapter's wire format to sockets on every gateway node.
 */
import net from "node:net";
import type { Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { createTokenVerifier } from "../src/auth/tokens.js";
import type { ContextUpdateEvent } from "../src/protocol/index.js";
import serverless, { createServerlessApp, type ServerlessApp } from "../src/serverless/index.js";
import { type ClusterNode, Follower, filler, startNode } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { closeAllSockets, connect, TEST_SECRET, waitFor } from "./helpers/gateway.js";

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function cluster(): Promise<{ db: TestDatabase; a: ClusterNode; b: ClusterNode }> {
  const db = await createTestDatabase({ max: 5 });
  cleanups.push(() => db.drop());
  const env = { CLUSTER_HEAD_INTERVAL_MS: "500" };
  const a = await startNode({ db, nodeId: "sls-a", env });
  cleanups.push(() => a.close());
  const b = await startNode({ db, nodeId: "sls-b", env });
  cleanups.push(() => b.close());
  await waitFor(
    () => a.gateway.realtime.clusterReady() && b.gateway.realtime.clusterReady(),
    10_000,
    "listeners",
  );
  return { db, a, b };
}

function app(databaseUrl: string, options: Parameters<typeof createServerlessApp>[1] = {}) {
  const created = createServerlessApp(
    {
      DATABASE_URL: databaseUrl,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      NODE_ID: "function",
    },
    options,
  );
  cleanups.push(() => created.close());
  return created;
}

function request(
  target: ServerlessApp,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Response> {
  return target.fetch(
    new Request(`http://function.test${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** A "Postgres" that accepts TCP connections, counts them and resets each at once. */
async function refusingServer(): Promise<{ url: string; readonly attempts: number }> {
  let attempts = 0;
  const server = net.createServer((socket) => {
    attempts++;
    socket.on("error", () => {});
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/tkr`,
    get attempts() {
      return attempts;
    },
  };
}

function roomMembers(node: ClusterNode, namespace: string, sessionId: string): Set<string> {
  const nsp = node.gateway.realtime.namespaces.find((n) => n.name === namespace);
  return new Set(nsp?.adapter.rooms.get(`session_${sessionId}`) ?? []);
}

describe("serverless app", () => {
  it("publishes messages (small and 60 KB), context updates and member removals to sockets on two nodes in both namespaces", async () => {
    const { db, a, b } = await cluster();
    const fn = app(db.url);
    const token = await a.token("fn-agent", "agent");
    const created = await request(fn, "POST", "/v1/sessions", token, {
      members: ["alice", "bot", "carol"],
    });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { id: string };
    const followers = [
      await Follower.join(a.url, "/clients", await a.token("alice", "user"), session.id),
      await Follower.join(b.url, "/agents", await b.token("bot", "agent"), session.id),
      await Follower.join(b.url, "/clients", await b.token("carol", "user"), session.id),
    ];
    const contexts: ContextUpdateEvent[][] = followers.map(() => []);
    followers.forEach((f, i) => {
      (f.socket as Socket).on("context:update", (u: ContextUpdateEvent) => contexts[i]?.push(u));
    });

    const small = await request(fn, "POST", `/v1/sessions/${session.id}/messages`, token, {
      id: "fn-1",
      content: "from a function",
      type: "text",
    });
    expect(small.status).toBe(201);
    const big = await request(fn, "POST", `/v1/sessions/${session.id}/messages`, token, {
      id: "fn-2",
      content: filler(60_000, "big"),
      type: "text",
    });
    expect(big.status).toBe(201);
    await waitFor(() => followers.every((f) => f.live === 2), 5_000, "both messages live");
    for (const follower of followers) {
      expect(follower.held.get(1)).toMatchObject({ id: "fn-1", senderId: "fn-agent" });
      expect(follower.held.get(2)?.content).toBe(filler(60_000, "big"));
    }

    const put = await request(fn, "PUT", `/v1/sessions/${session.id}/contexts/plan`, token, {
      contextData: { step: 1 },
    });
    expect(put.status).toBe(200);
    await waitFor(() => contexts.every((c) => c.length === 1), 5_000, "context updates");
    expect(contexts[0]?.[0]).toMatchObject({
      contextId: "plan",
      contextData: { step: 1 },
      version: 1,
      sourceAgentId: "fn-agent",
    });

    const carolSocket = followers[2]?.socket.id as string;
    expect(roomMembers(b, "/clients", session.id).has(carolSocket)).toBe(true);
    const removed = await request(fn, "DELETE", `/v1/sessions/${session.id}/members/carol`, token);
    expect(removed.status).toBe(204);
    await waitFor(
      () => !roomMembers(b, "/clients", session.id).has(carolSocket),
      5_000,
      "carol's socket to leave the room on node b",
    );
    await request(fn, "POST", `/v1/sessions/${session.id}/messages`, token, {
      id: "fn-3",
      content: "after carol left",
      type: "text",
    });
    await waitFor(() => followers.slice(0, 2).every((f) => f.live === 3), 5_000, "third message");
    expect(followers[2]?.held.has(3)).toBe(false);
    // The three invitations, two messages, a context, and the removal: the room leave plus the
    // membership events.
    expect(fn.publisher.stats).toMatchObject({ published: 9, failed: 0 });
  });

  it("tells the added and removed principal's sockets and the session's room on both nodes", async () => {
    const { db, a, b } = await cluster();
    const fn = app(db.url);
    const token = await a.token("fn-agent", "agent");
    const created = await request(fn, "POST", "/v1/sessions", token, { members: ["alice"] });
    const session = (await created.json()) as { id: string };
    const alice = await Follower.join(
      a.url,
      "/clients",
      await a.token("alice", "user"),
      session.id,
    );
    const dana = await connect(b.url, "/clients", { token: await b.token("dana", "user") });
    const events: Array<[string, unknown]> = [];
    for (const name of ["member:added", "member:removed"]) {
      (alice.socket as Socket).on(name, (e: unknown) => events.push([`alice ${name}`, e]));
    }
    for (const name of ["session:added", "session:removed"]) {
      dana.on(name, (e: unknown) => events.push([`dana ${name}`, e]));
    }
    const added = await request(fn, "POST", `/v1/sessions/${session.id}/members`, token, {
      principalId: "dana",
    });
    expect(added.status).toBe(201);
    await waitFor(() => events.length === 2, 5_000, "the add announced on both nodes");
    const removed = await request(fn, "DELETE", `/v1/sessions/${session.id}/members/dana`, token);
    expect(removed.status).toBe(204);
    await waitFor(() => events.length === 4, 5_000, "the removal announced on both nodes");
    const member = { sessionId: session.id, principalId: "dana", kind: "user", name: "dana" };
    expect(events.sort((x, y) => x[0].localeCompare(y[0]))).toEqual([
      ["alice member:added", member],
      ["alice member:removed", member],
      [
        "dana session:added",
        {
          session: {
            id: session.id,
            title: null,
            members: ["alice", "fn-agent", "dana"],
            headSeq: 0,
            memberDetails: [
              { principalId: "alice", kind: "user", name: "alice" },
              { principalId: "fn-agent", kind: "agent", name: "fn-agent" },
              { principalId: "dana", kind: "user", name: "dana" },
            ],
          },
        },
      ],
      ["dana session:removed", { sessionId: session.id }],
    ]);
  });

  it("tries a failed publish once and gives up; the message stays committed and sockets learn it from session:head", async () => {
    const { db, a, b } = await cluster();
    let encodes = 0;
    const fn = app(db.url, {
      // Every payload takes the attachment path, whose encoder fails.
      payloadThreshold: 1,
      encode: () => {
        encodes++;
        throw new Error("encoder broke");
      },
    });
    const token = await a.token("fn-agent", "agent");
    // Created on a node, so that the function's one publish is the message's.
    const session = await a.gateway.messaging.createSession(
      { id: "fn-agent", kind: "agent" },
      { members: ["alice"] },
    );
    const followers = [
      await Follower.join(a.url, "/clients", await a.token("alice", "user"), session.id),
      await Follower.join(b.url, "/clients", await b.token("alice", "user"), session.id),
    ];
    const sent = await request(fn, "POST", `/v1/sessions/${session.id}/messages`, token, {
      id: "unpublished",
      content: "committed anyway",
      type: "text",
    });
    expect(sent.status).toBe(201);
    await waitFor(() => followers.every((f) => f.holdsExactly(1)), 15_000, "heads and sync");
    expect(followers.every((f) => f.live === 0)).toBe(true);
    expect(encodes).toBe(1);
    expect(fn.publisher.stats).toMatchObject({ published: 1, failed: 1, notifies: 0 });
    const metrics = await (await fn.fetch(new Request("http://function.test/metrics"))).text();
    expect(metrics).toMatch(/^tkr_cluster_errors_total\{[^}]*\} 1$/m);
  });

  it("answers 503 UNAVAILABLE with Postgres down and makes no connection attempt of its own afterwards", async () => {
    const postgres = await refusingServer();
    const fn = app(postgres.url);
    // No node runs here: the token is signed with the shared secret directly.
    const bearer = await createTokenVerifier({ secret: TEST_SECRET }).sign({
      sub: "fn-agent",
      kind: "agent",
    });
    const responses = [
      await request(fn, "POST", "/v1/sessions/s1/messages", bearer, {
        id: "m1",
        content: "x",
        type: "text",
      }),
      await request(fn, "POST", "/v1/sessions", bearer, {}),
      await request(fn, "GET", "/readyz", bearer),
    ];
    expect(responses.map((r) => r.status)).toEqual([503, 503, 503]);
    const body = (await responses[0]?.json()) as { error: { code: string } };
    expect(body.error.code).toBe("UNAVAILABLE");
    const afterRequests = postgres.attempts;
    expect(afterRequests).toBeGreaterThan(0);
    expect(afterRequests).toBeLessThanOrEqual(6);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(postgres.attempts).toBe(afterRequests);
    expect(fn.publisher.stats.published).toBe(0);
  });

  it("serves requests through its default export from the platform's env, and answers 500 while misconfigured", async () => {
    const missing = await serverless.fetch(new Request("http://function.test/healthz"), {
      DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/tkr",
    });
    expect(missing.status).toBe(500);
    const ok = await serverless.fetch(new Request("http://function.test/healthz"), {
      DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/tkr",
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "silent",
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ok" });
  });
});
