import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../protocol/index.js";
import {
  initialMessageState,
  lastSeq,
  type MessageState,
  messageReducer,
  type OutgoingMessage,
} from "./message-state.js";

const stored = (seq: number, id = `m${seq}`, sessionId = "s1"): StoredMessage => ({
  id,
  sessionId,
  seq,
  senderId: "bot",
  senderKind: "agent",
  senderName: "bot",
  content: `message ${seq}`,
  type: "text",
  timestamp: seq,
  createdAt: seq,
  status: "sent",
});

const outgoing = (id: string): OutgoingMessage => ({
  id,
  sessionId: "s1",
  content: "hi",
  type: "text",
  senderId: "user:alice",
  createdAt: 1,
  state: "pending",
});

const receive = (state: MessageState, ...messages: StoredMessage[]) =>
  messageReducer(state, { type: "received", messages });

describe("message state", () => {
  it("orders messages by seq whatever order they arrive in, and keeps one per seq", () => {
    let state = initialMessageState("s1");
    state = receive(state, stored(3), stored(1));
    state = receive(state, stored(2), stored(3));
    expect(state.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(lastSeq(state)).toBe(3);
  });

  it("ignores messages of other sessions", () => {
    const state = receive(initialMessageState("s1"), stored(1, "x", "s2"));
    expect(state.messages).toEqual([]);
  });

  it("turns a pending message into a stored one when its ack gives it a seq", () => {
    let state = messageReducer(initialMessageState("s1"), {
      type: "sending",
      message: outgoing("a"),
    });
    expect(state.outbox).toHaveLength(1);
    state = messageReducer(state, { type: "sent", id: "a", seq: 1, createdAt: 5 });
    expect(state.outbox).toEqual([]);
    expect(state.messages).toMatchObject([{ id: "a", seq: 1, senderKind: "user", createdAt: 5 }]);
  });

  it("shows a message once when the server delivers it before its ack", () => {
    let state = messageReducer(initialMessageState("s1"), {
      type: "sending",
      message: outgoing("a"),
    });
    state = receive(state, { ...stored(1, "a"), senderId: "user:alice", senderKind: "user" });
    state = messageReducer(state, { type: "sent", id: "a", seq: 1, createdAt: 1 });
    expect(state.outbox).toEqual([]);
    expect(state.messages.map((m) => m.id)).toEqual(["a"]);
  });

  it("marks a refused message failed with the reason, and pending again on retry", () => {
    let state = messageReducer(initialMessageState("s1"), {
      type: "sending",
      message: outgoing("a"),
    });
    state = messageReducer(state, { type: "failed", id: "a", error: "TOO_LARGE: too big" });
    expect(state.outbox).toMatchObject([{ id: "a", state: "failed", error: "TOO_LARGE: too big" }]);
    state = messageReducer(state, { type: "sending", message: { ...outgoing("a") } });
    expect(state.outbox).toMatchObject([{ id: "a", state: "pending" }]);
  });
});
