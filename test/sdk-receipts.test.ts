/**
 * Receipts in the SDK: `delivered` reported by the client itself for what it hands to the app
 * (coalesced), `markRead`, `receipt` events and `client.receipts(sessionId)`.
 */
import { describe, expect, it } from "vitest";
import type { ReceiptEvent } from "../src/sdk/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { waitFor } from "./helpers/gateway.js";
import { clientFactory, createSession } from "./sdk-fixtures.js";

const node = sharedGateway();
const client = clientFactory();

/** How many `receipt` events the node has answered so far. */
async function receiptEvents(): Promise<number> {
  const { values } = await node.gateway.metrics.ackLatency.get();
  return (
    values.find((v) => v.labels.event === "receipt" && v.metricName?.endsWith("_count"))?.value ?? 0
  );
}

async function clients(sessionId: string) {
  const alice = client({
    url: node.url,
    namespace: "/clients",
    token: await node.token("alice", "user"),
  });
  const bot = client({
    url: node.url,
    namespace: "/agents",
    token: await node.token("bot", "agent"),
  });
  await Promise.all([alice.joinSession(sessionId), bot.joinSession(sessionId)]);
  return { alice, bot };
}

describe("SDK receipts", () => {
  it("reports delivered by itself for what it hands to the app, at most once a second", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const { alice, bot } = await clients(session.id);
    const atAlice: ReceiptEvent[] = [];
    alice.on("receipt", (event) => atAlice.push(event));
    let handed = 0;
    bot.on("message", () => handed++);
    const before = await receiptEvents();

    for (let i = 0; i < 20; i++) {
      await alice.send({ sessionId: session.id, content: `m${i}`, type: "text" });
    }
    await waitFor(() => handed === 20, 5_000, "the bot's messages");
    await waitFor(
      () => atAlice.some((e) => e.principalId === "bot" && e.delivered === 20),
      5_000,
      "the bot's delivered receipt",
    );
    expect(atAlice.filter((e) => e.principalId === "bot").every((e) => e.read === 0)).toBe(true);
    expect(alice.receipts(session.id)).toContainEqual({
      principalId: "bot",
      delivered: 20,
      read: 0,
    });
    // The bot's 20 messages (and alice's own 20) went out as a few reports, not one each.
    const sent = (await receiptEvents()) - before;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(sent).toBeLessThanOrEqual(8);
  });

  it("markRead reaches the other members and the table; a later join starts from the watermarks", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const { alice, bot } = await clients(session.id);
    const atBot: ReceiptEvent[] = [];
    bot.on("receipt", (event) => atBot.push(event));
    for (let i = 0; i < 3; i++) {
      await bot.send({ sessionId: session.id, content: `m${i}`, type: "text" });
    }
    alice.markRead(session.id, 2);
    await waitFor(
      () => atBot.some((e) => e.principalId === "alice" && e.read === 2),
      5_000,
      "alice's read receipt",
    );
    expect(bot.receipts(session.id)).toContainEqual({
      principalId: "alice",
      delivered: expect.any(Number),
      read: 2,
    });
    await node.gateway.messaging.flushReceipts();
    const { rows } = await node.db.pool.query(
      "select read_seq from session_members where session_id = $1 and principal_id = 'alice'",
      [session.id],
    );
    expect(Number(rows[0]?.read_seq)).toBe(2);

    // A lower markRead changes nothing and sends nothing new.
    alice.markRead(session.id, 1);
    const late = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    await late.joinSession(session.id);
    expect(late.receipts(session.id)).toContainEqual({
      principalId: "alice",
      delivered: expect.any(Number),
      read: 2,
    });
  });
});
