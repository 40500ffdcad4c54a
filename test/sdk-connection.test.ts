import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { GatewayError, GatewayNetworkError, GatewayTimeoutError } from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession, record, sleep } from "./sdk-fixtures.js";

let node: TestGateway;
let proxy: FaultProxy;
const client = clientFactory();

beforeAll(async () => {
  node = await startTestGateway();
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(() => {
  proxy.accept();
  proxy.cut();
});
afterAll(async () => {
  await proxy.close();
  await node.close();
});

describe("SDK connection health", () => {
  it("detects a blackholed link as a zombie within the heartbeat window and recovers on a new one", async () => {
    const session = await createSession(node, "zed", ["zombie-bot"]);
    const heartbeat = { intervalMs: 300, timeoutMs: 300 };
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("zed", "user"),
      heartbeat,
    });
    // The agent talks to the gateway directly: only the user's link goes dark.
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("zombie-bot", "agent"),
    });
    const saw = record(user);
    await Promise.all([user.joinSession(session.id), agent.joinSession(session.id)]);
    const accepted = proxy.accepted;

    proxy.blackhole();
    const darkAt = Date.now();
    // Sent into the dark: no ack comes, and the SDK must resend it on the new link.
    const sent = user.send({ sessionId: session.id, content: "into the dark", type: "text" });
    const agentGot = record(agent);

    await waitFor(
      () => saw.statuses.some((s) => s.status === "reconnecting" && s.at >= darkAt),
      5_000,
      "the zombie to be noticed",
    );
    const noticedAfter =
      (saw.statuses.find((s) => s.status === "reconnecting" && s.at >= darkAt)?.at ?? 0) - darkAt;
    // Engine.IO's own check would take pingInterval + pingTimeout (45 s by default).
    expect(noticedAfter).toBeLessThanOrEqual(heartbeat.intervalMs + heartbeat.timeoutMs + 300);
    expect(
      saw.errors.some((e) => e instanceof GatewayTimeoutError && e.event === "heartbeat"),
    ).toBe(true);

    await waitFor(() => user.status === "connected", 5_000, "a new connection");
    expect(proxy.accepted).toBeGreaterThan(accepted);
    const result = await sent;
    expect(result.seq).toBe(1);
    await agent.send({ sessionId: session.id, content: "after the dark", type: "text" });
    await waitFor(() => saw.messages.length === 2, 5_000, "the agent's message");
    expect(saw.messages.map((m) => m.content)).toEqual(["into the dark", "after the dark"]);
    await waitFor(() => agentGot.messages.length === 2, 5_000, "the agent's stream");
    expect(agentGot.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it("reconnects by itself after the server disconnects it without a final reason", async () => {
    const session = await createSession(node, "kim", []);
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("kim", "user"),
    });
    const saw = record(user);
    await user.joinSession(session.id);
    node.gateway.realtime.io.of("/clients").disconnectSockets();
    await waitFor(() => saw.statuses.some((s) => s.reason === "io server disconnect"), 3_000);
    await waitFor(() => user.status === "connected", 5_000, "the manual reconnect");
    const result = await user.send({ sessionId: session.id, content: "back", type: "text" });
    expect(result).toMatchObject({ seq: 1, duplicate: false });
  });

  it("keeps retrying a handshake refused as UNAVAILABLE and connects once a node accepts", async () => {
    const draining = await startTestGateway({ db: node.db });
    onTestFinished(() => draining.close());
    draining.gateway.realtime.drain();
    const link = await startProxy(Number(new URL(draining.url).port));
    onTestFinished(() => link.close());
    const user = client({
      url: link.url,
      namespace: "/clients",
      token: await node.token("una", "user"),
    });
    const saw = record(user);
    await waitFor(
      () =>
        saw.errors.filter((e) => e instanceof GatewayError && e.code === "UNAVAILABLE").length >= 2,
      5_000,
      "two refusals",
    );
    expect(user.status).toBe("connecting");
    link.setTarget(Number(new URL(node.url).port));
    link.cut();
    await user.ready(5_000);
    expect(user.status).toBe("connected");
  });
});

describe("SDK tokens", () => {
  it("refreshes the token through getToken when it expires mid-connection, and the session carries on", async () => {
    const session = await createSession(node, "dave", ["token-bot"]);
    let calls = 0;
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      getToken: async () => {
        calls++;
        return node.token("dave", "user", 2);
      },
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("token-bot", "agent"),
    });
    const saw = record(user);
    await Promise.all([user.joinSession(session.id), agent.joinSession(session.id)]);
    await agent.send({ sessionId: session.id, content: "one", type: "text" });

    await waitFor(() => calls >= 2 && user.status === "connected", 5_000, "a refreshed token");
    expect(saw.errors.some((e) => e instanceof GatewayError && e.code === "AUTH_EXPIRED")).toBe(
      true,
    );
    expect(
      saw.statuses.some((s) => s.status === "reconnecting" && s.reason === "AUTH_EXPIRED"),
    ).toBe(true);
    expect(saw.statuses.some((s) => s.status === "failed")).toBe(false);
    await agent.send({ sessionId: session.id, content: "two", type: "text" });
    const mine = await user.send({ sessionId: session.id, content: "three", type: "text" });
    expect(mine.seq).toBe(3);
    await waitFor(() => saw.messages.length === 3, 5_000, "the conversation");
    expect(saw.messages.map((m) => m.content)).toEqual(["one", "two", "three"]);
  });

  it("asks getToken again when the handshake is refused with AUTH_EXPIRED", async () => {
    const tokens = [await node.token("erin", "user", -60), await node.token("erin", "user")];
    let calls = 0;
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      getToken: async () => tokens[Math.min(calls++, 1)] as string,
    });
    const saw = record(user);
    await user.ready(5_000);
    expect(calls).toBe(2);
    expect(saw.errors.map((e) => e.code)).toEqual(["AUTH_EXPIRED"]);
  });
});

describe("SDK failed state", () => {
  it("fails for good on AUTH_INVALID at connect and rejects pending and new calls with it", async () => {
    const user = client({ url: proxy.url, namespace: "/clients", token: "not-a-jwt" });
    const saw = record(user);
    const pending = user.send({ sessionId: "s1", content: "never", type: "text" });
    const joining = user.joinSession("s1");
    await expect(pending).rejects.toMatchObject({ name: "GatewayError", code: "AUTH_INVALID" });
    await expect(joining).rejects.toMatchObject({ code: "AUTH_INVALID" });
    expect(user.status).toBe("failed");
    await expect(user.send({ sessionId: "s1", content: "x", type: "text" })).rejects.toBeInstanceOf(
      GatewayError,
    );
    const accepted = proxy.accepted;
    await sleep(400);
    expect(proxy.accepted).toBe(accepted); // no retries
    expect(saw.statuses.map((s) => s.status)).toEqual(["failed"]);
  });

  it("fails for good when a user token is presented to /agents (FORBIDDEN)", async () => {
    const agent = client({
      url: proxy.url,
      namespace: "/agents",
      token: await node.token("fay", "user"),
    });
    const saw = record(agent);
    await expect(agent.ready()).rejects.toMatchObject({ code: "FORBIDDEN", retryable: false });
    expect(agent.status).toBe("failed");
    expect(saw.errors.at(-1)).toBeInstanceOf(GatewayError);
  });

  it("fails on AUTH_EXPIRED when there is no getToken to refresh with", async () => {
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("gus", "user", -60),
    });
    await expect(user.ready()).rejects.toMatchObject({ code: "AUTH_EXPIRED" });
    expect(user.status).toBe("failed");
  });

  it("fails after reconnection.maxAttempts refused attempts in a row", async () => {
    proxy.refuse();
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("hal", "user"),
      reconnection: { delayMs: 20, maxDelayMs: 50, jitter: 0, maxAttempts: 3 },
    });
    const saw = record(user);
    await expect(user.ready()).rejects.toBeInstanceOf(GatewayNetworkError);
    expect(user.status).toBe("failed");
    expect(saw.errors.filter((e) => e instanceof GatewayNetworkError)).toHaveLength(3);
  });
});

describe("SDK over long-polling", () => {
  it("sends, receives and survives a cut with transports ['polling']", async () => {
    const session = await createSession(node, "pol", ["poll-bot"]);
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("pol", "user"),
      transports: ["polling"],
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("poll-bot", "agent"),
    });
    const saw = record(user);
    await Promise.all([user.joinSession(session.id), agent.joinSession(session.id)]);
    await user.send({ sessionId: session.id, content: "one", type: "text" });
    proxy.cut();
    const two = user.send({ sessionId: session.id, content: "two", type: "text" });
    await agent.send({ sessionId: session.id, content: "three", type: "text" });
    expect((await two).seq).toBeGreaterThan(1);
    await waitFor(() => saw.messages.length === 3, 5_000, "three messages");
    expect(saw.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});
