/**
 * A send the gateway refuses for good (an error ack with `retryable: false`) is final in the SDK:
 * its promise rejects, `error` and `sendFailed` fire, it leaves the outbox and its storage, and
 * the messages queued behind it go on. Against a real gateway, with a Web Storage outbox.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientError,
  GatewayError,
  localStorageOutbox,
  type MessageInput,
  type WebStorageLike,
} from "../src/sdk/index.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers/gateway.js";
import { clientFactory, createSession, record } from "./sdk-fixtures.js";

let node: TestGateway;
const client = clientFactory();

beforeAll(async () => {
  node = await startTestGateway();
});
afterAll(async () => {
  await node.close();
});

/** An in-memory Web Storage, standing in for a browser's localStorage. */
function webStorage(): WebStorageLike & { keys(): string[] } {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => {
      items.set(key, value);
    },
    removeItem: (key) => {
      items.delete(key);
    },
    keys: () => [...items.keys()],
  };
}

/** Settles like `promise`, or rejects after `ms` (a refused send must not hang in retries). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function storedContents(sessionId: string, owner: string): Promise<string[]> {
  const page = await node.gateway.messaging.readMessages(
    { id: owner, kind: "user" },
    sessionId,
    0,
    100,
  );
  return page.messages.map((m) => m.content);
}

describe("SDK: a send refused for good", () => {
  it("rejects, emits error and sendFailed, leaves the outbox and its storage, and the next send goes through", async () => {
    const session = await createSession(node, "quinn", []);
    const store = webStorage();
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("quinn", "user"),
      outbox: { storage: localStorageOutbox({ storage: store }) },
    });
    const seen = record(user);
    const failed: string[] = [];
    user.on("sendFailed", (_error, message) => failed.push(message.id));

    const bad = user.send({
      id: "bad-nul",
      sessionId: session.id,
      content: "a\u0000b",
      type: "text",
    });
    const good = user.send({
      id: "good-after",
      sessionId: session.id,
      content: "fine",
      type: "text",
    });

    const error = await within(bad, 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "INVALID_PAYLOAD", retryable: false });
    expect(await within(good, 5_000)).toMatchObject({ id: "good-after", seq: 1 });
    expect(seen.errors).toContain(error as ClientError);
    expect(failed).toEqual(["bad-nul"]);
    expect(user.outboxSize).toBe(0);
    await waitFor(() => store.length === 0, 2_000, "the storage to empty");
    expect(await storedContents(session.id, "quinn")).toEqual(["fine"]);
  });

  it("drops a refused entry restored from storage after a reload instead of blocking the queue", async () => {
    const session = await createSession(node, "rory", []);
    const store = webStorage();
    const poisoned: MessageInput = {
      id: "poisoned",
      sessionId: session.id,
      content: "lone \uD800 surrogate",
      type: "text",
    };
    localStorageOutbox({ storage: store }).put({
      id: poisoned.id,
      message: poisoned,
      order: 1,
      enqueuedAt: 0,
      namespace: "/clients",
      principalId: "rory",
    });
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("rory", "user"),
      outbox: { storage: localStorageOutbox({ storage: store }) },
    });
    const seen = record(user);
    const failed: Array<{ id: string; code: string }> = [];
    user.on("sendFailed", (error, message) =>
      failed.push({ id: message.id, code: String(error.code) }),
    );

    const next = await within(
      user.send({ id: "after-reload", sessionId: session.id, content: "next", type: "text" }),
      5_000,
    );
    expect(next.seq).toBe(1);
    expect(failed).toEqual([{ id: "poisoned", code: "INVALID_PAYLOAD" }]);
    expect(seen.errors.map((e) => e.code)).toContain("INVALID_PAYLOAD");
    await waitFor(() => store.length === 0, 2_000, "the storage to empty");
    expect(await storedContents(session.id, "rory")).toEqual(["next"]);
  });
});
