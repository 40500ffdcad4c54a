import { decode } from "@msgpack/msgpack";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { StoredMessage } from "../protocol/index.js";
import { createClusterPublisher, type Queryable } from "./publisher.js";

function message(seq: number, content = "hi"): StoredMessage {
  return {
    id: `m${seq}`,
    sessionId: "s1",
    seq,
    content,
    type: "text",
    senderId: "bot",
    senderName: "bot",
    senderKind: "agent",
    createdAt: 1,
    timestamp: 1,
    status: "sent",
  };
}

/** A pool that records every query and answers like Postgres would (or fails). */
function fakePool(fail?: Error) {
  const calls: Array<{ text: string; values: unknown[] }> = [];
  const pool: Queryable = {
    async query(text, values = []) {
      calls.push({ text, values });
      if (fail) throw fail;
      if (text.startsWith("INSERT")) return { rows: [{ id: 42 }] };
      return { rows: [] };
    },
  };
  return { pool, calls };
}

describe("cluster publisher", () => {
  it("sends a message as one NOTIFY on socket.io#/ carrying the adapter's server-side emit of tkr:fanout", async () => {
    const { pool, calls } = fakePool();
    const publisher = createClusterPublisher({ pool });
    await publisher.message(message(7));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.text).toBe("SELECT pg_notify($1, $2)");
    expect(calls[0]?.values[0]).toBe("socket.io#/");
    expect(JSON.parse(calls[0]?.values[1] as string)).toEqual({
      uid: "emitter",
      nsp: "/",
      type: 9,
      data: { packet: ["tkr:fanout", { messages: [message(7)] }] },
    });
    expect(publisher.stats).toEqual({ published: 1, failed: 0, notifies: 1 });
  });

  it("puts a payload over the threshold in socket_io_attachments and notifies only its header", async () => {
    const { pool, calls } = fakePool();
    const publisher = createClusterPublisher({ pool, payloadThreshold: 7_000 });
    const large = message(3, "x".repeat(7_000));
    await publisher.message(large);
    expect(calls.map((c) => c.text)).toEqual([
      "INSERT INTO socket_io_attachments (payload) VALUES ($1) RETURNING id",
      "SELECT pg_notify($1, $2)",
    ]);
    expect(decode(calls[0]?.values[0] as Uint8Array)).toEqual({
      uid: "emitter",
      nsp: "/",
      type: 9,
      data: { packet: ["tkr:fanout", { messages: [large] }] },
    });
    expect(JSON.parse(calls[1]?.values[1] as string)).toEqual({
      uid: "emitter",
      type: 9,
      attachmentId: 42,
    });
  });

  it("announces only the head of a message too large for a NOTIFY when no encoder is available", async () => {
    const { pool, calls } = fakePool();
    const publisher = createClusterPublisher({ pool, encode: null });
    await publisher.message(message(5, "y".repeat(9_000)));
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]?.values[1] as string).data.packet).toEqual([
      "tkr:fanout",
      { heads: [{ sessionId: "s1", seq: 5 }] },
    ]);
  });

  it("makes a removed member's sockets leave the room in both namespaces through the adapter's socketsLeave", async () => {
    const { pool, calls } = fakePool();
    const publisher = createClusterPublisher({ pool });
    await publisher.memberRemoved("s1", "carol");
    expect(calls.map((c) => [c.values[0], JSON.parse(c.values[1] as string)])).toEqual(
      ["/agents", "/clients"].map((nsp) => [
        `socket.io#${nsp}`,
        {
          uid: "emitter",
          nsp,
          type: 5,
          data: { opts: { rooms: ["principal_carol"], except: [] }, rooms: ["session_s1"] },
        },
      ]),
    );
  });

  it("tries a failed publish once, counts and reports it, and never retries", async () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { pool, calls } = fakePool(new Error("connect ECONNREFUSED"));
    const failures: unknown[] = [];
    const publisher = createClusterPublisher({ pool, onFailure: (err) => failures.push(err) });
    await publisher.message(message(1));
    await publisher.context({
      sessionId: "s1",
      contextId: "c",
      sourceAgentId: "bot",
      contextData: {},
      version: 1,
      updatedAt: 1,
    });
    await publisher.idle();
    // A retry on any timer within the next hour would show up as a third call.
    await vi.advanceTimersByTimeAsync(3_600_000);
    vi.useRealTimers();
    expect(calls).toHaveLength(2);
    expect(failures).toHaveLength(2);
    expect(publisher.stats).toEqual({ published: 2, failed: 2, notifies: 0 });
  });
});
