import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { connectAgent, type SendResult } from "../src/sdk/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession, FAST, range, record, seededRandom } from "./sdk-fixtures.js";

let db: TestDatabase;
let node: TestGateway;
let proxy: FaultProxy;
const client = clientFactory();

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startTestGateway({ db });
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(() => proxy.accept());
afterAll(async () => {
  await proxy.close();
  await node.close();
  await db.drop();
});

describe("SDK delivery over a faulty link", () => {
  it("delivers 1,000 messages sent across five link cuts: one success each, seq 1..1000 once and in order", async () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const session = await createSession(node, "alice", ["bot"]);
    const agent = client({
      url: proxy.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    const user = client({
      url: proxy.url,
      namespace: "/clients",
      token: await node.token("alice", "user"),
    });
    const userSaw = record(user);
    const agentSaw = record(agent);
    await Promise.all([agent.joinSession(session.id), user.joinSession(session.id)]);

    // Cut at five random points of the flow, each right after a message is committed and
    // before its ack leaves the gateway: the ack is lost, and the resend must come back as a
    // duplicate of the stored message, counted once.
    const cutAt = new Set<number>();
    while (cutAt.size < 5) cutAt.add(50 + Math.floor(random() * 900));
    const messaging = node.gateway.messaging;
    const sendMessage = messaging.sendMessage;
    messaging.sendMessage = async (...args) => {
      const result = await sendMessage(...args);
      if (!result.duplicate && cutAt.has(result.seq)) proxy.cut();
      return result;
    };
    onTestFinished(() => {
      messaging.sendMessage = sendMessage;
    });

    const results = new Map<string, SendResult[]>();
    const sends = range(0, 999).map((i) =>
      agent
        .send({ id: `m${i}`, sessionId: session.id, content: `message ${i}`, type: "text" })
        .then((result) => {
          results.set(`m${i}`, [...(results.get(`m${i}`) ?? []), result]);
        }),
    );
    await Promise.all(sends);
    await waitFor(() => userSaw.messages.length >= 1000, 20_000, `1000 messages (seed ${seed})`);

    expect(results.size).toBe(1000);
    expect([...results.values()].every((r) => r.length === 1)).toBe(true);
    expect(agentSaw.sent).toHaveLength(1000);
    const seqs = [...results.values()].map((r) => r[0]?.seq).sort((a = 0, b = 0) => a - b);
    expect(seqs).toEqual(range(1, 1000));
    expect(userSaw.messages.map((m) => m.seq)).toEqual(range(1, 1000));
    // One lane in flight: seq follows the order of send() calls even across the cuts.
    expect(userSaw.messages.map((m) => m.id)).toEqual(range(0, 999).map((i) => `m${i}`));
    // The sender's own stream holds its messages too, slotted in at their seq.
    expect(agentSaw.messages.map((m) => m.seq)).toEqual(range(1, 1000));
    const reconnects = agentSaw.statuses.filter((s) => s.status === "reconnecting").length;
    expect(reconnects, `seed ${seed}`).toBeGreaterThanOrEqual(5);
    // The five lost acks: their resends were answered as duplicates and still counted once
    // (each result carries the original seq, checked above).
    const duplicates = [...results.values()].filter((r) => r[0]?.duplicate).length;
    expect(duplicates, `seed ${seed}`).toBeGreaterThanOrEqual(5);
  }, 60_000);
});

describe("SDK across a gateway restart", () => {
  it("carries a conversation on when the gateway restarts on the same database behind the same URL", async () => {
    const restartDb = await createTestDatabase();
    let first: TestGateway | undefined = await startTestGateway({ db: restartDb });
    let second: TestGateway | undefined;
    const link = await startProxy(Number(new URL(first.url).port));
    onTestFinished(async () => {
      await link.close();
      await first?.close();
      await second?.close();
      await restartDb.drop();
    });
    const session = await createSession(first, "carol", ["echo-bot"]);
    const bot = await connectAgent({
      ...FAST,
      url: link.url,
      token: await first.token("echo-bot", "agent"),
      sessionId: session.id,
      onMessage: (message, reply) => reply(`echo: ${message.content}`),
    });
    onTestFinished(() => bot.close());
    const user = client({
      url: link.url,
      namespace: "/clients",
      token: await first.token("carol", "user"),
    });
    const saw = record(user);
    await user.joinSession(session.id);

    const sends: Promise<SendResult>[] = [];
    for (let i = 1; i <= 5; i++) {
      sends.push(user.send({ sessionId: session.id, content: `before ${i}`, type: "text" }));
    }
    await waitFor(() => saw.messages.length === 10, 10_000, "the echoes before the restart");

    await first.close();
    first = undefined;
    // Sent while no gateway is there: held in the outbox.
    for (let i = 1; i <= 5; i++) {
      sends.push(user.send({ sessionId: session.id, content: `during ${i}`, type: "text" }));
    }
    await waitFor(() => user.status === "reconnecting", 5_000, "the user to notice");
    // A reconnect attempt reached the link and found no gateway; the sends are still held.
    const attempts = link.accepted;
    await waitFor(() => link.accepted > attempts, 5_000, "a reconnect attempt");
    expect(user.outboxSize).toBe(5);
    second = await startTestGateway({ db: restartDb });
    link.setTarget(Number(new URL(second.url).port));
    for (let i = 1; i <= 5; i++) {
      sends.push(user.send({ sessionId: session.id, content: `after ${i}`, type: "text" }));
    }

    const results = await Promise.all(sends);
    await waitFor(() => saw.messages.length === 30, 20_000, "every echo after the restart");
    expect(
      results.map((r) => r.seq).every((seq, i, all) => i === 0 || seq > (all[i - 1] ?? 0)),
    ).toBe(true);
    expect(saw.messages.map((m) => m.seq)).toEqual(range(1, 30));
    const userTexts = saw.messages.filter((m) => m.senderId === "carol").map((m) => m.content);
    const labels = ["before", "during", "after"].flatMap((w) =>
      range(1, 5).map((i) => `${w} ${i}`),
    );
    expect(userTexts).toEqual(labels);
    // Each user message echoed once, in order: the bot handles a session's messages in turn.
    const echoes = saw.messages.filter((m) => m.senderId === "echo-bot").map((m) => m.content);
    expect(echoes).toEqual(labels.map((l) => `echo: ${l}`));
    expect(saw.statuses.some((s) => s.status === "reconnecting")).toBe(true);
    expect(user.status).toBe("connected");
  }, 60_000);
});
