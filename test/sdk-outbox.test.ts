import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  ClientClosedError,
  GatewayError,
  type MessageInput,
  memoryOutboxStorage,
  OutboxFullError,
  type SendResult,
} from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession, range, record } from "./sdk-fixtures.js";

let node: TestGateway;
let proxy: FaultProxy;
const client = clientFactory();

beforeAll(async () => {
  node = await startTestGateway();
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(() => proxy.accept());
afterAll(async () => {
  await proxy.close();
  await node.close();
});

async function stored(sessionId: string, owner: string) {
  const page = await node.gateway.messaging.readMessages(
    { id: owner, kind: "user" },
    sessionId,
    0,
    500,
  );
  return page.messages;
}

describe("SDK outbox", () => {
  it("holds sends made offline and flushes them in order when the link comes back", async () => {
    const session = await createSession(node, "pam", []);
    proxy.refuse();
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("pam", "user"),
    });
    const sends = range(1, 5).map((i) =>
      user.send({ sessionId: session.id, content: `m${i}`, type: "text" }),
    );
    // Two refused connects: the client tried, failed and tried again while holding the sends.
    await waitFor(() => proxy.refused >= 2, 5_000, "two refused connects");
    expect(user.status).toBe("connecting");
    expect(user.outboxSize).toBe(5);
    expect(await stored(session.id, "pam")).toHaveLength(0);
    proxy.accept();
    const results = await Promise.all(sends);
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await stored(session.id, "pam")).map((m) => m.content)).toEqual([
      "m1",
      "m2",
      "m3",
      "m4",
      "m5",
    ]);
    expect(user.outboxSize).toBe(0);
  });

  it("rejects a send past outbox.maxSize with OUTBOX_FULL, queues nothing, and takes sends again once drained", async () => {
    const session = await createSession(node, "quinn", []);
    proxy.refuse();
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("quinn", "user"),
      outbox: { maxSize: 3 },
    });
    const queued = range(1, 3).map((i) =>
      user.send({ sessionId: session.id, content: `q${i}`, type: "text" }),
    );
    const overflow = await user
      .send({ sessionId: session.id, content: "overflow", type: "text" })
      .catch((e: unknown) => e);
    expect(overflow).toBeInstanceOf(OutboxFullError);
    expect(overflow).toMatchObject({ code: "OUTBOX_FULL", retryable: true, maxSize: 3 });
    expect(user.outboxSize).toBe(3);
    proxy.accept();
    expect((await Promise.all(queued)).map((r) => r.seq)).toEqual([1, 2, 3]);
    const later = await user.send({ sessionId: session.id, content: "later", type: "text" });
    expect(later.seq).toBe(4);
    expect((await stored(session.id, "quinn")).map((m) => m.content)).toEqual([
      "q1",
      "q2",
      "q3",
      "later",
    ]);
  });

  it("rejects a send refused for good with its GatewayError and carries on with the next", async () => {
    const session = await createSession(node, "rae", []);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("rae", "user"),
    });
    const failed: Array<[string, string]> = [];
    user.on("sendFailed", (error, message) =>
      failed.push([error.code, message.content.slice(0, 5)]),
    );
    const tooBig = user.send({ sessionId: session.id, content: "x".repeat(70_000), type: "text" });
    const fine = user.send({ sessionId: session.id, content: "fine", type: "text" });
    const error = await tooBig.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "TOO_LARGE", retryable: false });
    expect((await fine).seq).toBe(1);
    expect(failed).toEqual([["TOO_LARGE", "xxxxx"]]);
    expect(user.outboxSize).toBe(0);
  });

  it("answers a resend of an acknowledged id with the original seq, marked duplicate", async () => {
    const session = await createSession(node, "sam", ["dup-bot"]);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("sam", "user"),
    });
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("dup-bot", "agent"),
    });
    const agentSaw = record(agent);
    await agent.joinSession(session.id);
    const message = {
      id: "fixed-id",
      sessionId: session.id,
      content: "once",
      type: "text",
    } as const;
    const [a, b] = await Promise.all([user.send(message), user.send(message)]);
    expect(a).toEqual(b); // the same call while pending shares one promise
    const again = await user.send(message);
    expect(again).toMatchObject({ id: "fixed-id", seq: a.seq, duplicate: true });
    // A later message is the sentinel: a second broadcast of "fixed-id" would come before it.
    await user.send({ id: "after", sessionId: session.id, content: "after", type: "text" });
    await waitFor(() => agentSaw.messages.length >= 2, 5_000, "the later message");
    expect(agentSaw.messages.map((m) => m.id)).toEqual(["fixed-id", "after"]);
  });

  it("sends entries a closed client left in a shared storage, reports them through sent, and leaves other principals' entries alone", async () => {
    const session = await createSession(node, "tia", []);
    const storage = memoryOutboxStorage();
    const foreign: MessageInput = {
      id: "not-mine",
      sessionId: session.id,
      content: "x",
      type: "text",
    };
    storage.put({
      id: "not-mine",
      message: foreign,
      order: 1,
      enqueuedAt: 0,
      namespace: "/clients",
      principalId: "someone-else",
    });
    proxy.refuse();
    const token = await node.token("tia", "user");
    const first = client({ url: proxy.url, namespace: "/clients", token, outbox: { storage } });
    const pending = [
      first.send({ sessionId: session.id, content: "left 1", type: "text" }),
      first.send({ sessionId: session.id, content: "left 2", type: "text" }),
    ];
    await waitFor(async () => (await storage.load()).length === 3, 5_000, "the stored sends");
    await first.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(ClientClosedError);
    expect((await storage.load()).map((e) => e.id)).toHaveLength(3);

    proxy.accept();
    const second = client({ url: proxy.url, namespace: "/clients", token, outbox: { storage } });
    const sent: SendResult[] = [];
    second.on("sent", (result) => sent.push(result));
    await waitFor(() => sent.length === 2, 5_000, "the restored entries");
    expect(sent.map((r) => r.seq)).toEqual([1, 2]);
    expect((await stored(session.id, "tia")).map((m) => m.content)).toEqual(["left 1", "left 2"]);
    expect((await storage.load()).map((e) => e.id)).toEqual(["not-mine"]);
  });
});

describe("SDK outbox under the gateway's rate limit", () => {
  it("resends messages refused as RATE_LIMITED with backoff until each is stored once", async () => {
    const limited = await startTestGateway({ db: node.db, env: { SOCKET_RATE_LIMIT: "10" } });
    onTestFinished(() => limited.close());
    const session = await createSession(limited, "ugo", []);
    const debug: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const user = client({
      url: limited.url,
      namespace: "/clients",
      token: await limited.token("ugo", "user"),
      outbox: { maxInFlight: 10 },
      logger: {
        debug: (message, fields) => debug.push({ message, ...(fields ? { fields } : {}) }),
      },
    });
    const results = await Promise.all(
      range(1, 30).map((i) => user.send({ sessionId: session.id, content: `r${i}`, type: "text" })),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(range(1, 30));
    expect(
      debug.some((d) => d.message === "resending message" && d.fields?.code === "RATE_LIMITED"),
    ).toBe(true);
    const contents = (await stored(session.id, "ugo")).map((m) => m.content).sort();
    expect(contents).toEqual(
      range(1, 30)
        .map((i) => `r${i}`)
        .sort(),
    );
  });
});
