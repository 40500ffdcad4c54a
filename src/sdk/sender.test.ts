import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { AppendResult, MessageInput } from "../protocol/schemas.js";
import { GatewayError, GatewayNetworkError, GatewayTimeoutError } from "./errors.js";
import { Outbox } from "./outbox.js";
import { Sender } from "./sender.js";
import { memoryOutboxStorage, type OutboxEntry } from "./storage.js";

const message = (id: string): MessageInput => ({ id, sessionId: "s", content: id, type: "text" });

/** A sender whose `sendOnce` answers from a script per message id. */
async function setup(script: Record<string, Array<unknown>>) {
  const outbox = new Outbox({
    storage: memoryOutboxStorage(),
    maxSize: 10,
    namespace: "/clients",
    onStorageError: () => {},
  });
  await outbox.restore("me");
  const attempts: string[] = [];
  const sent: string[] = [];
  const failed: string[] = [];
  let seq = 0;
  let online = true;
  let wake: (() => void) | undefined;
  const sender = new Sender({
    outbox,
    whenConnected: () =>
      online ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve)),
    sendOnce: async (entry: OutboxEntry): Promise<AppendResult> => {
      attempts.push(entry.id);
      const next = script[entry.id]?.shift();
      if (next === "offline") {
        online = false;
        throw new GatewayNetworkError("dropped");
      }
      if (next) throw next;
      return { id: entry.id, seq: ++seq, createdAt: 0, duplicate: false };
    },
    lanes: 1,
    retry: { delayMs: 5, maxDelayMs: 20, jitter: 0 },
    onSent: (entry) => sent.push(entry.id),
    onFailed: (entry) => failed.push(entry.id),
  });
  sender.start();
  const reconnect = () => {
    online = true;
    wake?.();
  };
  return { outbox, sender, attempts, sent, failed, reconnect };
}

describe("Sender", () => {
  it("resends after timeouts and retryable error acks until the one success", async () => {
    const t = await setup({
      a: [new GatewayTimeoutError("message", 1), new GatewayError("RATE_LIMITED", "slow down")],
      b: [new GatewayError("UNAVAILABLE", "db away"), new GatewayError("INTERNAL", "oops")],
    });
    const results = await Promise.all([t.outbox.add(message("a")), t.outbox.add(message("b"))]);
    expect(results.map((r) => [r.id, r.seq])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect(t.attempts).toEqual(["a", "a", "a", "b", "b", "b"]);
    expect(t.sent).toEqual(["a", "b"]);
    t.sender.stop();
  });

  it("rejects a non-retryable error ack and goes on with the next entry", async () => {
    const t = await setup({ a: [new GatewayError("FORBIDDEN", "no")] });
    const a = t.outbox.add(message("a"));
    const b = t.outbox.add(message("b"));
    await expect(a).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await b).seq).toBe(1);
    expect(t.failed).toEqual(["a"]);
    expect(t.outbox.size).toBe(0);
    t.sender.stop();
  });

  it("waits for the reconnect after a dropped connection and keeps send order", async () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const t = await setup({ a: ["offline"] });
    const a = t.outbox.add(message("a"));
    const b = t.outbox.add(message("b"));
    // Far past every retry delay (at most 20 ms): still only the one attempt, waiting to connect.
    await vi.advanceTimersByTimeAsync(60_000);
    vi.useRealTimers();
    expect(t.attempts).toEqual(["a"]);
    t.reconnect();
    expect((await Promise.all([a, b])).map((r) => r.id)).toEqual(["a", "b"]);
    expect(t.attempts).toEqual(["a", "a", "b"]);
    t.sender.stop();
  });
});
