import { describe, expect, it } from "vitest";
import {
  initialPeopleState,
  type PeopleAction,
  type PeopleState,
  people,
  peopleReducer,
  receiptLine,
} from "./people-state.js";

const apply = (state: PeopleState, ...actions: PeopleAction[]) =>
  actions.reduce(peopleReducer, state);

const opened = () =>
  apply(initialPeopleState("s1"), {
    type: "session",
    session: {
      id: "s1",
      members: ["me", "bob", "bot"],
      memberDetails: [
        { principalId: "me", kind: "user", name: "Me" },
        { principalId: "bob", kind: "user", name: "Bob" },
        { principalId: "bot", kind: null, name: "bot" },
      ],
    },
  });

describe("people of a session", () => {
  it("names members from the session's details, and by id when it has none", () => {
    const plain = apply(initialPeopleState("s1"), {
      type: "session",
      session: { id: "s1", members: ["me", "user:bob-1"] },
    });
    expect(people(plain).map((p) => [p.principalId, p.name])).toEqual([
      ["me", "me"],
      ["user:bob-1", "user:bob-1"],
    ]);
    expect(people(opened()).map((p) => p.name)).toEqual(["Me", "Bob", "bot"]);
  });

  it("adds and removes members live, with the name the event carries, and ignores other sessions", () => {
    const state = apply(
      opened(),
      {
        type: "memberAdded",
        event: { sessionId: "s1", principalId: "carol", kind: "user", name: "Carol" },
      },
      { type: "memberAdded", event: { sessionId: "s1", principalId: "carol" } },
      { type: "memberAdded", event: { sessionId: "s2", principalId: "dave" } },
      { type: "memberRemoved", event: { sessionId: "s1", principalId: "bot" } },
    );
    expect(people(state).map((p) => [p.principalId, p.name])).toEqual([
      ["me", "Me"],
      ["bob", "Bob"],
      ["carol", "Carol"],
    ]);
  });

  it("shows who is online from the join's list and presence events, and nobody once disconnected", () => {
    let state = apply(opened(), {
      type: "online",
      sessionId: "s1",
      present: [
        { principalId: "me", kind: "user", name: "Me", since: 1 },
        { principalId: "bob", kind: "user", name: "Bobby", since: 2 },
      ],
    });
    expect(people(state).map((p) => p.online)).toEqual([true, true, false]);
    expect(people(state)[1]?.name).toBe("Bobby");
    state = apply(
      state,
      {
        type: "presence",
        event: {
          sessionId: "s1",
          principalId: "bob",
          kind: "user",
          name: "Bob",
          state: "offline",
          at: 3,
        },
      },
      {
        type: "presence",
        event: {
          sessionId: "s1",
          principalId: "bot",
          kind: "agent",
          name: "Bot",
          state: "online",
          at: 4,
        },
      },
    );
    expect(people(state).map((p) => [p.name, p.kind, p.online])).toEqual([
      ["Me", "user", true],
      ["Bob", "user", false],
      ["Bot", "agent", true],
    ]);
    state = apply(state, { type: "disconnected" });
    expect(people(state).some((p) => p.online)).toBe(false);
  });

  it("keeps each member's receipt watermarks moving forwards only", () => {
    const state = apply(
      opened(),
      {
        type: "receipts",
        sessionId: "s1",
        receipts: [{ principalId: "bob", delivered: 4, read: 2 }],
      },
      { type: "receipt", event: { sessionId: "s1", principalId: "bob", delivered: 3, read: 3 } },
    );
    expect(state.receipts.get("bob")).toEqual({ delivered: 4, read: 3 });
  });

  it("says who has read a message and who has it delivered, never counting the sender", () => {
    const state = apply(opened(), {
      type: "receipts",
      sessionId: "s1",
      receipts: [
        { principalId: "me", delivered: 9, read: 9 },
        { principalId: "bob", delivered: 5, read: 5 },
        { principalId: "bot", delivered: 5, read: 0 },
      ],
    });
    expect(receiptLine(state, 5, "me")).toBe("Read by Bob · delivered to bot");
    expect(receiptLine(state, 4, "me")).toBe("Read by Bob · delivered to bot");
    expect(receiptLine(state, 6, "me")).toBe("Sent");
    const everyone = apply(state, {
      type: "receipt",
      event: { sessionId: "s1", principalId: "bot", delivered: 6, read: 6 },
    });
    expect(receiptLine(everyone, 5, "me")).toBe("Read by everyone");
    expect(receiptLine(everyone, 6, "me")).toBe("Read by bot");
  });
});
