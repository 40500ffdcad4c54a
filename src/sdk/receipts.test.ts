import { describe, expect, it } from "vitest";
import type { ReceiptEvent, ReceiptKind } from "../protocol/schemas.js";
import { Receipts } from "./receipts.js";

function harness() {
  const sent: Array<{ seq: number; kind: ReceiptKind }> = [];
  const events: ReceiptEvent[] = [];
  let online = true;
  const receipts = new Receipts({
    send: async (_sessionId, seq, kind) => {
      sent.push({ seq, kind });
      return kind === "read" ? { delivered: seq, read: seq } : { delivered: seq, read: 0 };
    },
    canSend: () => online,
    self: () => "me",
    onReceipt: (event) => events.push(event),
    intervalMs: 60_000,
  });
  return {
    receipts,
    sent,
    events,
    setOnline(value: boolean) {
      online = value;
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("SDK Receipts", () => {
  it("sends what was handed over while offline once the rejoin shows the server lacks it", async () => {
    const h = harness();
    h.receipts.joined("s", [{ principalId: "me", delivered: 0, read: 0 }]);
    h.setOnline(false);
    h.receipts.delivered("s", 1);
    h.receipts.delivered("s", 2);
    await tick();
    expect(h.sent).toEqual([]);
    h.setOnline(true);
    h.receipts.joined("s", [{ principalId: "me", delivered: 0, read: 0 }]);
    await tick();
    expect(h.sent).toEqual([{ seq: 2, kind: "delivered" }]);
    // A rejoin where the server already has it (another device reported more) sends nothing.
    h.receipts.joined("s", [{ principalId: "me", delivered: 5, read: 0 }]);
    await tick();
    expect(h.sent).toHaveLength(1);
    expect(h.receipts.list("s")).toEqual([{ principalId: "me", delivered: 5, read: 0 }]);
  });

  it("keeps the greatest value per field whatever order events come in", () => {
    const h = harness();
    h.receipts.joined("s", []);
    h.receipts.event({ sessionId: "s", principalId: "bob", delivered: 7, read: 3 });
    h.receipts.event({ sessionId: "s", principalId: "bob", delivered: 4, read: 5 });
    h.receipts.event({ sessionId: "s", principalId: "bob", delivered: 2, read: 1 });
    expect(h.receipts.list("s")).toEqual([{ principalId: "bob", delivered: 7, read: 5 }]);
    expect(h.events.map((e) => [e.delivered, e.read])).toEqual([
      [7, 3],
      [7, 5],
    ]);
  });

  it("sends a read only, not a delivered it covers", async () => {
    const h = harness();
    h.receipts.joined("s", [{ principalId: "me", delivered: 0, read: 0 }]);
    h.receipts.markRead("s", 4);
    h.receipts.delivered("s", 3);
    await tick();
    expect(h.sent).toEqual([{ seq: 4, kind: "read" }]);
  });
});
