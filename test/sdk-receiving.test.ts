import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../src/messaging/index.js";
import { GatewayError } from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession, range, record } from "./sdk-fixtures.js";

let node: TestGateway;
let proxy: FaultProxy;
const client = clientFactory();

beforeAll(async () => {
  // The gateway's own healing pass announces heads the table is ahead of; it is pushed out of
  // the way so these tests see what the SDK's gap detection does by itself.
  node = await startTestGateway({ env: { CLUSTER_HEAD_INTERVAL_MS: "60000" } });
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(() => {
  proxy.accept();
  node.gateway.messaging.setPublisher(node.gateway.realtime.publisher);
});
afterAll(async () => {
  await proxy.close();
  await node.close();
});

/** Live fan-out that loses every message and head (what a dropped cluster listener does). */
function losingMessages(): Publisher {
  const real = node.gateway.realtime.publisher;
  return { ...real, message() {}, head() {} };
}

async function appendSilently(sessionId: string, sender: string, count: number) {
  node.gateway.messaging.setPublisher(losingMessages());
  for (let i = 0; i < count; i++) {
    await node.gateway.messaging.sendMessage(
      { id: sender, kind: "agent" },
      { id: `${sessionId}-silent-${i}`, sessionId, content: `silent ${i}`, type: "text" },
    );
  }
  node.gateway.messaging.setPublisher(node.gateway.realtime.publisher);
}

describe("SDK receiving", () => {
  it("fills a hole left by 60 lost broadcasts with paged sync once a later message arrives", async () => {
    const session = await createSession(node, "ida", ["gap-bot"]);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("ida", "user"),
      syncPageSize: 20,
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("gap-bot", "agent"),
    });
    const saw = record(user);
    await user.joinSession(session.id);
    await appendSilently(session.id, "gap-bot", 60);
    // (Under load the gateway's own healing, a head announced after a cluster-listener probe,
    // may start the fill first; either way the SDK must end with every message, in order.)
    await agent.send({ sessionId: session.id, content: "live", type: "text" });
    await waitFor(() => saw.messages.length === 61, 10_000, "the hole to be filled");
    expect(saw.messages.map((m) => m.seq)).toEqual(range(1, 61));
    expect(saw.messages.at(-1)?.content).toBe("live");
  });

  it("fetches messages that only a newer session:head announces", async () => {
    const session = await createSession(node, "jan", ["head-bot"]);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("jan", "user"),
    });
    const saw = record(user);
    await user.joinSession(session.id);
    await appendSilently(session.id, "head-bot", 3);
    node.gateway.realtime.publisher.head?.({ sessionId: session.id, seq: 3 });
    await waitFor(() => saw.messages.length === 3, 5_000, "the announced messages");
    expect(saw.messages.map((m) => m.content)).toEqual(["silent 0", "silent 1", "silent 2"]);
  });

  it("rejoins with lastSeq after a reconnect and catches up on the messages and context missed", async () => {
    const session = await createSession(node, "kai", ["away-bot"]);
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("kai", "user"),
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("away-bot", "agent"),
    });
    const saw = record(user);
    await Promise.all([user.joinSession(session.id), agent.joinSession(session.id)]);
    await agent.updateContext({
      sessionId: session.id,
      contextId: "plan",
      contextData: { step: 1 },
    });
    await agent.send({ sessionId: session.id, content: "0", type: "text" });
    await waitFor(() => saw.messages.length === 1 && saw.contexts.length === 1, 5_000);

    proxy.refuse();
    proxy.cut();
    await waitFor(() => user.status === "reconnecting", 3_000);
    // More than a join's catch-up page (100), so the rest must come through sync.
    for (let i = 1; i <= 110; i++) {
      await agent.send({ sessionId: session.id, content: String(i), type: "text" });
    }
    await agent.updateContext({
      sessionId: session.id,
      contextId: "plan",
      contextData: { step: 2 },
    });
    proxy.accept();

    await waitFor(() => saw.messages.length === 111 && saw.contexts.length === 2, 10_000);
    expect(saw.messages.map((m) => m.seq)).toEqual(range(1, 111));
    expect(saw.contexts.map((c) => [c.contextId, c.version, c.contextData])).toEqual([
      ["plan", 1, { step: 1 }],
      ["plan", 2, { step: 2 }],
    ]);
  });

  it("replays the whole history with lastSeq 0, and history() reads pages without touching the stream", async () => {
    const session = await createSession(node, "lea", ["past-bot"]);
    await appendSilently(session.id, "past-bot", 105);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("lea", "user"),
    });
    const saw = record(user);
    const joined = await user.joinSession(session.id, { lastSeq: 0 });
    expect(joined.headSeq).toBe(105);
    await waitFor(() => saw.messages.length === 105, 5_000, "the history");
    expect(saw.messages.map((m) => m.seq)).toEqual(range(1, 105));
    const page = await user.history(session.id, { afterSeq: 90, limit: 10 });
    expect(page.messages.map((m) => m.seq)).toEqual(range(91, 100));
    expect(page.hasMore).toBe(true);
    expect(saw.messages).toHaveLength(105);
  });

  it("reports own context updates and others' updates once each, in version order", async () => {
    const session = await createSession(node, "max", ["ctx-bot"]);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("max", "user"),
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("ctx-bot", "agent"),
    });
    const saw = record(user);
    await Promise.all([user.joinSession(session.id), agent.joinSession(session.id)]);
    const mine = await user.updateContext({
      sessionId: session.id,
      contextId: "notes",
      contextData: { a: 1 },
    });
    expect(mine.version).toBe(1);
    await agent.updateContext({
      sessionId: session.id,
      contextId: "notes",
      contextData: { a: 2 },
      expectedVersion: 1,
    });
    await waitFor(() => saw.contexts.length === 2, 5_000);
    expect(saw.contexts.map((c) => [c.version, c.sourceAgentId])).toEqual([
      [1, "max"],
      [2, "ctx-bot"],
    ]);
    await expect(
      user.updateContext({
        sessionId: session.id,
        contextId: "notes",
        contextData: {},
        expectedVersion: 1,
      }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await user.getContexts(session.id, "notes")).toMatchObject([
      { version: 2, contextData: { a: 2 } },
    ]);
  });

  it("rejects joining a session the principal is not a member of with FORBIDDEN, and stops tracking it", async () => {
    const session = await createSession(node, "ned", []);
    const stranger = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("oli", "user"),
    });
    const error = await stranger.joinSession(session.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "FORBIDDEN", retryable: false });
    expect(stranger.sessions()).toEqual([]);
    expect(stranger.status).toBe("connected");
  });
});
