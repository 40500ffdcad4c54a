import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Principal } from "../src/messaging/index.js";
import type { StoredMessage } from "../src/protocol/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, flushed, waitFor } from "./helpers/gateway.js";

const node = sharedGateway();
const alice: Principal = { id: "alice", kind: "user" };

async function newSession(members: string[] = ["bot"]) {
  return node.gateway.messaging.createSession(alice, { members });
}

async function storedCount(sessionId: string): Promise<number> {
  const r = await node.db.pool.query<{ n: number }>(
    "select count(*)::int as n from messages where session_id = $1",
    [sessionId],
  );
  return r.rows[0]?.n ?? -1;
}

const userToken = () => node.token("alice", "user");
const agentToken = () => node.token("bot", "agent");

describe("handshake", () => {
  it("refuses a missing, garbage, expired or wrong-kind token with the protocol's code", async () => {
    const codes: Record<string, string> = {};
    for (const [name, namespace, token] of [
      ["missing", "/clients", undefined],
      ["garbage", "/clients", "not.a.jwt"],
      ["expired", "/clients", await node.token("alice", "user", -10)],
      ["wrong kind", "/agents", await userToken()],
    ] as const) {
      const err = (await connect(node.url, namespace, token === undefined ? {} : { token }).catch(
        (e) => e,
      )) as {
        data?: { code: string; message: string };
      };
      codes[name] = err.data?.code ?? "connected";
      expect(err.data?.message).toEqual(expect.any(String));
    }
    expect(codes).toEqual({
      missing: "AUTH_REQUIRED",
      garbage: "AUTH_INVALID",
      expired: "AUTH_EXPIRED",
      "wrong kind": "FORBIDDEN",
    });
    const counters = node.gateway.metrics.socket;
    expect(counters.failed_connections).toBeGreaterThanOrEqual(4);
    expect(counters.errors.auth_errors).toBeGreaterThanOrEqual(4);
  });

  it("refuses the root namespace and accepts a token from the Authorization header", async () => {
    const root = (await connect(node.url, "/", { token: await userToken() }).catch((e) => e)) as {
      data?: { code: string };
    };
    expect(root.data?.code).toBe("FORBIDDEN");
    const viaHeader = await connect(node.url, "/clients", {
      extraHeaders: { authorization: `Bearer ${await userToken()}` },
    });
    expect(await call(viaHeader, "ping", {})).toMatchObject({
      status: "success",
      serverTime: expect.any(Number),
    });
  });

  it("ends a connection whose token expires, telling the client why", async () => {
    const socket = await connect(node.url, "/clients", {
      token: await node.token("alice", "user", 2),
    });
    const notice = new Promise((resolve) => socket.once("gateway:error", resolve));
    const disconnected = new Promise((resolve) => socket.once("disconnect", resolve));
    expect(await notice).toMatchObject({ code: "AUTH_EXPIRED", retryable: false });
    expect(await disconnected).toBe("io server disconnect");
  });
});

describe("events", () => {
  it("works the same over HTTP long-polling", async () => {
    const session = await newSession();
    const user = await connect(node.url, "/clients", {
      token: await userToken(),
      transports: ["polling"],
    });
    const agent = await connect(node.url, "/agents", {
      token: await agentToken(),
      transports: ["polling"],
    });
    await call(user, "join_session", { sessionId: session.id });
    const got = new Promise<StoredMessage>((resolve) => user.once("message", resolve));
    const ack = await call(agent, "message", {
      id: "poll-1",
      sessionId: session.id,
      content: "over polling",
      type: "text",
    });
    expect(ack).toMatchObject({ status: "success", seq: 1 });
    expect(await got).toMatchObject({ id: "poll-1", seq: 1, content: "over polling" });
  });

  it("catches up through join_session with lastSeq, and pages through sync", async () => {
    const session = await newSession();
    for (let i = 1; i <= 5; i++) {
      await node.gateway.messaging.sendMessage(alice, {
        id: `cu-${i}`,
        sessionId: session.id,
        content: `${i}`,
        type: "text",
      });
    }
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    const joined = await call<{ messages: StoredMessage[]; headSeq: number; hasMore: boolean }>(
      agent,
      "join_session",
      {
        sessionId: session.id,
        lastSeq: 2,
      },
    );
    expect(joined).toMatchObject({ status: "success", headSeq: 5, hasMore: false });
    expect(joined.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    const page = await call<{ messages: StoredMessage[] }>(agent, "sync", {
      sessionId: session.id,
      afterSeq: 0,
      limit: 2,
    });
    expect(page).toMatchObject({
      status: "success",
      sessionId: session.id,
      headSeq: 5,
      hasMore: true,
    });
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it("stores, versions and broadcasts context updates to both namespaces except the sender", async () => {
    const session = await newSession();
    const user = await connect(node.url, "/clients", { token: await userToken() });
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    await call(user, "join_session", { sessionId: session.id });
    await call(agent, "join_session", { sessionId: session.id });
    const agentSaw: unknown[] = [];
    agent.on("context:update", (u) => agentSaw.push(u));
    const userSaw = new Promise((resolve) => user.once("context:update", resolve));
    const first = await call(agent, "context:update", {
      sessionId: session.id,
      contextId: "plan",
      contextData: { step: 1 },
    });
    expect(first).toMatchObject({ status: "success", contextId: "plan", version: 1 });
    expect(await userSaw).toMatchObject({
      sessionId: session.id,
      contextId: "plan",
      sourceAgentId: "bot",
      version: 1,
      contextData: { step: 1 },
    });
    const stale = await call(user, "context:update", {
      sessionId: session.id,
      contextId: "plan",
      contextData: { step: 2 },
      expectedVersion: 0,
    });
    expect(stale).toMatchObject({ status: "error", code: "CONFLICT", retryable: false });
    expect(String((stale as { message: string }).message)).toContain(
      "current version of plan is 1",
    );
    const got = await call<{ contexts: { version: number }[] }>(user, "context:get", {
      sessionId: session.id,
    });
    expect(got.contexts.map((c) => c.version)).toEqual([1]);
    expect(agentSaw).toEqual([]);
  });

  it("answers every reachable error code with the right retryable flag and stores nothing", async () => {
    const session = await newSession();
    const other = await node.gateway.messaging.createSession({ id: "carol", kind: "user" }, {});
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    await call(agent, "message", {
      id: "dup-id",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    const cases: Array<[string, string, unknown, string]> = [
      ["non-object payload", "message", "hello", "INVALID_PAYLOAD"],
      ["null payload", "join_session", null, "INVALID_PAYLOAD"],
      ["array payload", "sync", [1, 2], "INVALID_PAYLOAD"],
      [
        "unknown field",
        "message",
        { id: "u1", sessionId: session.id, content: "x", type: "text", colour: "red" },
        "INVALID_PAYLOAD",
      ],
      [
        "bad type",
        "message",
        { id: "u2", sessionId: session.id, content: "x", type: "shout" },
        "INVALID_PAYLOAD",
      ],
      ["sync limit", "sync", { sessionId: session.id, afterSeq: 0, limit: 501 }, "INVALID_PAYLOAD"],
      ["unknown event", "explode", {}, "INVALID_PAYLOAD"],
      ["non-member", "join_session", { sessionId: other.id }, "FORBIDDEN"],
      [
        "spoofed sender",
        "message",
        { id: "u3", sessionId: session.id, content: "x", type: "text", senderId: "alice" },
        "FORBIDDEN",
      ],
      ["unknown session", "sync", { sessionId: "no-such", afterSeq: 0 }, "NOT_FOUND"],
      ["missing context", "context:get", { sessionId: session.id, contextId: "nope" }, "NOT_FOUND"],
      [
        "id reused in another session",
        "message",
        { id: "dup-id", sessionId: other.id, content: "x", type: "text" },
        "FORBIDDEN",
      ],
      [
        "too large",
        "message",
        { id: "u4", sessionId: session.id, content: "x".repeat(65_537), type: "text" },
        "TOO_LARGE",
      ],
    ];
    for (const [name, event, payload, code] of cases) {
      const ack = await call(agent, event, payload);
      expect({ name, ack }).toMatchObject({
        name,
        ack: { status: "error", code, retryable: false },
      });
    }
    // CONFLICT needs a session where the agent is a member but the id belongs to someone else.
    await node.gateway.messaging.sendMessage(alice, {
      id: "alice-id",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    expect(
      await call(agent, "message", {
        id: "alice-id",
        sessionId: session.id,
        content: "y",
        type: "text",
      }),
    ).toMatchObject({
      status: "error",
      code: "CONFLICT",
      retryable: false,
    });
    expect(await storedCount(session.id)).toBe(2);
    expect(await storedCount(other.id)).toBe(0);
  });

  it("processes an event sent without an ack callback the same way", async () => {
    const session = await newSession();
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    agent.emit("message", {
      id: "no-ack",
      sessionId: session.id,
      content: "fire and forget",
      type: "text",
    });
    await waitFor(
      async () => (await storedCount(session.id)) === 1,
      3_000,
      "message without ack stored",
    );
  });

  it("rate-limits a burst of 10,000 events from one socket and keeps serving others", async () => {
    const session = await newSession();
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    const acks = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) =>
        call<{ status: string; code?: string; retryable?: boolean }>(
          agent,
          "message",
          { id: `burst-${i}`, sessionId: session.id, content: "b", type: "text" },
          30_000,
        ),
      ),
    );
    const ok = acks.filter((a) => a.status === "success").length;
    const limited = acks.filter((a) => a.code === "RATE_LIMITED");
    expect(ok + limited.length).toBe(10_000);
    expect(limited.length).toBeGreaterThan(5_000);
    expect(limited.every((a) => a.retryable === true)).toBe(true);
    expect(await storedCount(session.id)).toBe(ok);
    const user = await connect(node.url, "/clients", { token: await userToken() });
    expect(await call(user, "ping", null)).toMatchObject({ status: "success" });
  });

  it("closes a socket whose frame exceeds the buffer limit while the server and other sockets carry on", async () => {
    const session = await newSession();
    const big = await connect(node.url, "/agents", { token: await agentToken() });
    const bystander = await connect(node.url, "/clients", { token: await userToken() });
    const closed = new Promise((resolve) => big.once("disconnect", resolve));
    big.emit("message", {
      id: "huge",
      sessionId: session.id,
      content: "x".repeat(2_000_000),
      type: "text",
    });
    expect(await closed).toMatch(/transport (close|error)/);
    expect(await call(bystander, "ping", {})).toMatchObject({ status: "success" });
    expect(await storedCount(session.id)).toBe(0);
  });

  it("closes a connection that sends garbage packets and keeps serving", async () => {
    const ws = new WebSocket(
      `${node.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`,
    );
    await new Promise((resolve) => ws.once("open", resolve));
    const closed = new Promise((resolve) => ws.once("close", resolve));
    ws.send("40/agents,");
    ws.send("42/agents,not json at all[[[");
    ws.send("\u0000\u0001garbage");
    await closed;
    const user = await connect(node.url, "/clients", { token: await userToken() });
    expect(await call(user, "ping", {})).toMatchObject({ status: "success" });
  });
});

describe("membership", () => {
  it("makes a removed member's sockets leave the room at once and refuses their later calls", async () => {
    const session = await newSession();
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    await call(agent, "join_session", { sessionId: session.id });
    const got: StoredMessage[] = [];
    agent.on("message", (m: StoredMessage) => got.push(m));
    const res = await fetch(`${node.url}/v1/sessions/${session.id}/members/bot`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${await userToken()}` },
    });
    expect(res.status).toBe(204);
    await node.gateway.messaging.sendMessage(alice, {
      id: "after-removal",
      sessionId: session.id,
      content: "secret",
      type: "text",
    });
    await flushed(agent);
    expect(got).toEqual([]);
    expect(await call(agent, "sync", { sessionId: session.id, afterSeq: 0 })).toMatchObject({
      code: "FORBIDDEN",
    });
  });
});

describe("observability", () => {
  it("counts connections, messages and reconnections and writes the connection audit", async () => {
    const session = await newSession();
    const before = structuredClone(node.gateway.metrics.socket);
    const agent = await connect(node.url, "/agents", { token: await agentToken() });
    await call(agent, "message", {
      id: "metric-1",
      sessionId: session.id,
      content: "m",
      type: "text",
    });
    const socketId = agent.id;
    // Drop the transport under the client (a network failure), then connect again.
    agent.io.engine.close();
    await waitFor(
      () => node.gateway.metrics.socket.active_connections === before.active_connections,
      3_000,
      "disconnect seen",
    );
    const again = await connect(node.url, "/agents", { token: await agentToken() });
    const res = await fetch(`${node.url}/metrics/socket`);
    const counters = await res.json();
    expect(Object.keys(counters).sort()).toEqual(
      [
        "active_connections",
        "errors",
        "failed_connections",
        "messages_received",
        "messages_sent",
        "peak_connections",
        "reconnections",
        "total_connections",
      ].sort(),
    );
    expect(counters.total_connections - before.total_connections).toBe(2);
    expect(counters.reconnections - before.reconnections).toBe(1);
    expect(counters.messages_received - before.messages_received).toBe(1);
    expect(counters.errors.network_errors - before.errors.network_errors).toBe(1);
    again.close();

    await node.gateway.realtime.flushAudit();
    const audit = await node.db.pool.query(
      "select namespace, principal_id, node_id, reason, disconnected_at is not null as closed, remote_address like '%127.0.0.1' as local from connection_audit where socket_id = $1",
      [socketId],
    );
    expect(audit.rows).toEqual([
      {
        namespace: "/agents",
        principal_id: "bot",
        node_id: node.gateway.config.nodeId,
        reason: "transport close",
        closed: true,
        local: true,
      },
    ]);

    const prom = await (await fetch(`${node.url}/metrics`)).text();
    for (const name of [
      "tkr_socket_connections",
      "tkr_messages_in_total",
      "tkr_messages_out_total",
      "tkr_ack_latency_seconds_bucket",
      "tkr_db_append_latency_seconds_bucket",
      "tkr_errors_total",
      "tkr_event_loop_lag_seconds",
      "tkr_db_pool_connections",
      "tkr_cluster_listener_up",
    ]) {
      expect(prom).toContain(name);
    }
  });
});
