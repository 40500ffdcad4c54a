import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { connectAgent, type StoredMessage } from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { clientFactory, createSession, FAST, record, sleep } from "./sdk-fixtures.js";

let node: TestGateway;
const client = clientFactory();

beforeAll(async () => {
  node = await startTestGateway();
});
afterAll(async () => {
  await node.close();
});

describe("connectAgent", () => {
  it("hands each message from others to onMessage once and in order, skips its own, and replies in the session", async () => {
    const session = await createSession(node, "uma", ["helper"]);
    const handled: string[] = [];
    const failures: string[] = [];
    let running = 0;
    let overlapped = false;
    const agent = await connectAgent({
      ...FAST,
      url: node.url,
      token: await node.token("helper", "agent"),
      sessionId: session.id,
      onMessage: async (message: StoredMessage, reply) => {
        running++;
        overlapped ||= running > 1;
        handled.push(message.content);
        await sleep(20);
        running--;
        if (message.content === "boom") throw new Error("handler broke");
        await reply(`re: ${message.content}`);
      },
      onHandlerError: (error, message) =>
        failures.push(`${message.content}: ${(error as Error).message}`),
    });
    onTestFinished(() => agent.close());
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("uma", "user"),
    });
    const saw = record(user);
    await user.joinSession(session.id);
    for (const content of ["a", "boom", "b", "c"]) {
      await user.send({ sessionId: session.id, content, type: "text" });
    }
    await waitFor(() => saw.messages.length === 7, 5_000, "three replies");
    await agent.idle();
    expect(handled).toEqual(["a", "boom", "b", "c"]);
    expect(overlapped).toBe(false);
    expect(failures).toEqual(["boom: handler broke"]);
    const replies = saw.messages.filter((m) => m.senderId === "helper");
    expect(replies.map((m) => m.content)).toEqual(["re: a", "re: b", "re: c"]);
    const byId = new Map(saw.messages.map((m) => [m.id, m]));
    for (const r of replies) {
      expect(r.receiverId).toBe("uma");
      expect(byId.get(r.replyTo ?? "")?.content).toBe(r.content.slice(4));
    }
  });

  it("rejects and closes when a session cannot be joined", async () => {
    const session = await createSession(node, "vic", []);
    const attempt = connectAgent({
      ...FAST,
      url: node.url,
      token: await node.token("outsider", "agent"),
      sessionId: session.id,
      onMessage: () => {},
    });
    await expect(attempt).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
