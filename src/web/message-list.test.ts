import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../protocol/index.js";
import type { StreamUpdate } from "../sdk/index.js";
import { MessageList } from "./message-list.js";

const stored = (seq: number, extra: Partial<StoredMessage> & { visibility?: string } = {}) =>
  ({
    id: `m${seq}`,
    sessionId: "s1",
    seq,
    senderId: "bot",
    senderKind: "agent",
    content: `message ${seq}`,
    type: "text",
    timestamp: seq,
    createdAt: seq,
    status: "sent",
    ...extra,
  }) as StoredMessage;

const stream = (id: string, extra: Partial<StreamUpdate> = {}): StreamUpdate => ({
  id,
  sessionId: "s1",
  senderId: "bot",
  senderKind: "agent",
  senderName: "Bot",
  type: "text",
  visibility: "session",
  startedAt: 1,
  content: `streaming ${id}`,
  nextIndex: 1,
  state: "open",
  ...extra,
});

function render(messages: StoredMessage[], streams: StreamUpdate[]) {
  const html = renderToStaticMarkup(
    createElement(MessageList, {
      messages,
      outbox: [],
      selfId: "alice",
      onRetry: () => {},
      streams,
    }),
  );
  const items = [...html.matchAll(/<li class="([^"]*)"[^>]*data-id="([^"]*)"/g)].map((m) => ({
    id: m[2],
    classes: m[1],
  }));
  return { html, items };
}

describe("message list: streams and direct messages", () => {
  it("shows open streams after the stored messages and never a stream whose message is stored", () => {
    const { html, items } = render(
      [stored(1), stored(2, { id: "done" })],
      [stream("done"), stream("live"), stream("dropped", { state: "aborted", reason: "idle" })],
    );
    expect(items.map((i) => i.id)).toEqual(["m1", "done", "live", "dropped"]);
    expect(items[2]?.classes).toContain("streaming");
    expect(items[3]?.classes).toContain("stream-aborted");
    expect(html).toContain("Writing…");
    expect(html).toContain("Stopped before it was finished (idle)");
    expect(html).toContain("message 2");
    expect(html).not.toContain("streaming done");
  });

  it("marks direct messages and direct streams with their receiver, and none other", () => {
    const { html } = render(
      [
        stored(1, { visibility: "direct", receiverId: "alice" }),
        stored(2, { visibility: "direct", receiverId: "carol" }),
        stored(3, { receiverId: "alice" }), // addressed, but seen by the whole session
      ],
      [stream("d", { visibility: "direct", receiverId: "bob" })],
    );
    const badges = [...html.matchAll(/badge-direct[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(badges).toEqual(["direct to you", "direct to carol", "direct to bob"]);
  });
});
