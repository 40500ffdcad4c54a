import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../protocol/index.js";
import {
  initialSessionListState,
  type ListedSession,
  type SessionListState,
  sessionListReducer,
} from "./session-list-state.js";

const listed = (id: string, headSeq = 0, extra: Partial<ListedSession> = {}): ListedSession => ({
  id,
  title: `title ${id}`,
  members: ["me", "bob"],
  headSeq,
  lastMessageAt: headSeq > 0 ? headSeq * 1000 : null,
  read: 0,
  unread: 0,
  ...extra,
});

const message = (sessionId: string, seq: number, senderId = "bob"): StoredMessage => ({
  id: `${sessionId}-${seq}`,
  sessionId,
  seq,
  senderId,
  senderKind: "user",
  senderName: senderId,
  content: "hi",
  type: "text",
  timestamp: seq,
  createdAt: 50_000 + seq,
  status: "sent",
});

const ids = (state: SessionListState) => state.items.map((i) => i.id);

function loaded(...sessions: ListedSession[]): SessionListState {
  return sessionListReducer(initialSessionListState, {
    type: "page",
    sessions,
    nextCursor: "c1",
    first: true,
  });
}

describe("session list state", () => {
  it("keeps the server's order and counts, and appends later pages without repeating a session", () => {
    let state = loaded(listed("a", 5, { unread: 2 }), listed("b", 3));
    expect(ids(state)).toEqual(["a", "b"]);
    expect(state.items[0]).toMatchObject({ unread: 2, lastActivity: 5000 });
    expect(state.items[1]).toMatchObject({ unread: 0 });
    expect(state.nextCursor).toBe("c1");
    state = sessionListReducer(state, {
      type: "page",
      sessions: [listed("b", 3), listed("c", 1)],
      nextCursor: null,
      first: false,
    });
    expect(ids(state)).toEqual(["a", "b", "c"]);
    expect(state.nextCursor).toBeNull();
    expect(state.loaded).toBe(true);
  });

  it("moves a session with a new message to the top and counts it unread when someone else sent it", () => {
    let state = loaded(listed("a", 5), listed("b", 3));
    state = sessionListReducer(state, { type: "message", message: message("b", 4), selfId: "me" });
    expect(ids(state)).toEqual(["b", "a"]);
    expect(state.items[0]).toMatchObject({ unread: 1, headSeq: 4, lastActivity: 50_004 });
    state = sessionListReducer(state, {
      type: "message",
      message: message("a", 6, "me"),
      selfId: "me",
    });
    expect(ids(state)).toEqual(["a", "b"]);
    expect(state.items[0]).toMatchObject({ unread: 0, headSeq: 6 });
  });

  it("counts a message once, and none the list already counted (seq at or below its head)", () => {
    let state = loaded(listed("a", 5, { unread: 1 }));
    state = sessionListReducer(state, { type: "message", message: message("a", 5), selfId: "me" });
    state = sessionListReducer(state, { type: "message", message: message("a", 6), selfId: "me" });
    state = sessionListReducer(state, { type: "message", message: message("a", 6), selfId: "me" });
    expect(state.items[0]).toMatchObject({ unread: 2, headSeq: 6 });
  });

  it("ignores messages of sessions it does not list", () => {
    const state = loaded(listed("a", 5));
    expect(
      sessionListReducer(state, { type: "message", message: message("x", 1), selfId: "me" }),
    ).toBe(state);
  });

  it("puts a session the user was added to on top, once, and drops one they were removed from", () => {
    let state = loaded(listed("a", 5));
    state = sessionListReducer(state, { type: "added", session: listed("n", 2) });
    state = sessionListReducer(state, { type: "added", session: listed("n", 2) });
    expect(ids(state)).toEqual(["n", "a"]);
    state = sessionListReducer(state, { type: "removed", sessionId: "a" });
    expect(ids(state)).toEqual(["n"]);
  });

  it("clears the unread count when the user has read up to the newest message", () => {
    let state = loaded(listed("a", 5, { unread: 3 }));
    state = sessionListReducer(state, { type: "read", sessionId: "a", seq: 4 });
    expect(state.items[0]?.unread).toBe(3);
    state = sessionListReducer(state, { type: "read", sessionId: "a", seq: 5 });
    expect(state.items[0]?.unread).toBe(0);
  });

  it("takes a refreshed first page as the truth for its sessions and keeps the others", () => {
    let state = loaded(listed("a", 5), listed("b", 3));
    state = sessionListReducer(state, {
      type: "page",
      sessions: [listed("c", 1)],
      nextCursor: null,
      first: false,
    });
    state = sessionListReducer(state, {
      type: "page",
      sessions: [listed("b", 9, { unread: 4 }), listed("a", 5)],
      nextCursor: "c2",
      first: true,
    });
    expect(ids(state)).toEqual(["b", "a", "c"]);
    expect(state.items[0]).toMatchObject({ headSeq: 9, unread: 4 });
    expect(state.nextCursor).toBe("c2");
  });
});
