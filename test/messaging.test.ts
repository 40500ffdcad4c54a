import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMessaging,
  type Messaging,
  type Principal,
  type Publisher,
} from "../src/messaging/index.js";
import { GatewayError, type StoredMessage } from "../src/protocol/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const alice: Principal = { id: "alice", kind: "user" };
const bot: Principal = { id: "agent-1", kind: "agent" };
const mallory: Principal = { id: "mallory", kind: "user" };

let tdb: TestDatabase;
let messaging: Messaging;
const published: StoredMessage[] = [];

const recorder: Publisher = {
  message: (m) => {
    published.push(m);
  },
  context: () => {},
  memberRemoved: () => {},
};

beforeAll(async () => {
  tdb = await createTestDatabase({ max: 25 });
  messaging = createMessaging({
    db: tdb.db,
    maxContentBytes: 65_536,
    publisher: recorder,
  });
});
afterAll(async () => {
  await tdb.drop();
});

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe(code);
}

async function seqsOf(sessionId: string): Promise<number[]> {
  const r = await tdb.pool.query<{ seq: number }>(
    "select seq from messages where session_id = $1 order by seq",
    [sessionId],
  );
  return r.rows.map((row) => row.seq);
}

describe("message log", () => {
  it("gives 1,000 messages from 20 concurrent writers seq 1..1000 with no gap or repeat", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    const writers = Array.from({ length: 20 }, (_, w) => w);
    await Promise.all(
      writers.map(async (w) => {
        for (let i = 0; i < 50; i++) {
          await messaging.sendMessage(w % 2 ? alice : bot, {
            id: `w${w}-m${i}`,
            sessionId: session.id,
            content: `hello ${i}`,
            type: "text",
          });
        }
      }),
    );
    expect(await seqsOf(session.id)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const fetched = await messaging.getSession(alice, session.id);
    expect(fetched.headSeq).toBe(1000);
  });

  it("stores each id once when every send is retried concurrently", async () => {
    const session = await messaging.createSession(alice, {});
    const ids = Array.from({ length: 200 }, (_, i) => `retry-${i}`);
    // Each message is sent three times at once, as a client retrying after a lost ack would.
    const results = await Promise.all(
      ids.flatMap((id) =>
        [0, 1, 2].map(() =>
          messaging.sendMessage(alice, { id, sessionId: session.id, content: id, type: "text" }),
        ),
      ),
    );
    expect(await seqsOf(session.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const id of ids) {
      const forId = results.filter((r) => r.id === id);
      expect(forId).toHaveLength(3);
      expect(new Set(forId.map((r) => r.seq)).size).toBe(1);
      expect(forId.filter((r) => !r.duplicate)).toHaveLength(1);
    }
  });

  it("answers each message of a concurrent mixed batch exactly: stored, FORBIDDEN or CONFLICT", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    await messaging.sendMessage(alice, {
      id: "mixed-taken",
      sessionId: session.id,
      content: "a",
      type: "text",
    });
    const sends = [
      ...Array.from({ length: 30 }, (_, i) =>
        messaging.sendMessage(i % 2 ? alice : bot, {
          id: `mixed-${i}`,
          sessionId: session.id,
          content: "x",
          type: "text",
        }),
      ),
      messaging.sendMessage(mallory, {
        id: "mixed-intruder",
        sessionId: session.id,
        content: "x",
        type: "text",
      }),
      messaging.sendMessage(bot, {
        id: "mixed-taken",
        sessionId: session.id,
        content: "x",
        type: "text",
      }),
      messaging.sendMessage(bot, {
        id: "mixed-0",
        sessionId: session.id,
        content: "again",
        type: "text",
      }),
      messaging.sendMessage(bot, {
        id: "mixed-1",
        sessionId: session.id,
        content: "x",
        type: "text",
      }),
    ];
    const outcomes = await Promise.allSettled(sends);
    const codeOf = (o: PromiseSettledResult<unknown>) =>
      o.status === "rejected" ? (o.reason as GatewayError).code : "ok";
    expect(outcomes.slice(0, 30).map(codeOf)).toEqual(Array(30).fill("ok"));
    expect(outcomes.slice(30).map(codeOf)).toEqual(["FORBIDDEN", "CONFLICT", "ok", "CONFLICT"]);
    const retried = (outcomes[32] as PromiseFulfilledResult<{ duplicate: boolean; seq: number }>)
      .value;
    const original = (outcomes[0] as PromiseFulfilledResult<{ duplicate: boolean; seq: number }>)
      .value;
    expect(retried).toMatchObject({ duplicate: true, seq: original.seq });
    expect(await seqsOf(session.id)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  });

  it("acks a retried id with the original seq and broadcasts it only once", async () => {
    const session = await messaging.createSession(alice, {});
    const before = published.length;
    const first = await messaging.sendMessage(alice, {
      id: "once",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    const again = await messaging.sendMessage(alice, {
      id: "once",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    expect(first).toMatchObject({ seq: 1, duplicate: false });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(published.length - before).toBe(1);
  });

  it("refuses an id reused by another sender or in another session with CONFLICT", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    const other = await messaging.createSession(alice, {});
    await messaging.sendMessage(alice, {
      id: "taken",
      sessionId: session.id,
      content: "a",
      type: "text",
    });
    await expectCode(
      messaging.sendMessage(bot, {
        id: "taken",
        sessionId: session.id,
        content: "b",
        type: "text",
      }),
      "CONFLICT",
    );
    await expectCode(
      messaging.sendMessage(alice, {
        id: "taken",
        sessionId: other.id,
        content: "c",
        type: "text",
      }),
      "CONFLICT",
    );
    expect(await seqsOf(session.id)).toEqual([1]);
    expect(await seqsOf(other.id)).toEqual([]);
  });

  it("refuses non-members, unknown sessions, spoofed senders and oversize content, storing nothing", async () => {
    const session = await messaging.createSession(alice, {});
    await expectCode(
      messaging.sendMessage(mallory, {
        id: "m1",
        sessionId: session.id,
        content: "x",
        type: "text",
      }),
      "FORBIDDEN",
    );
    await expectCode(
      messaging.sendMessage(alice, { id: "m2", sessionId: "nope", content: "x", type: "text" }),
      "NOT_FOUND",
    );
    await expectCode(
      messaging.sendMessage(alice, {
        id: "m3",
        sessionId: session.id,
        content: "x",
        type: "text",
        senderId: "bob",
      }),
      "FORBIDDEN",
    );
    await expectCode(
      messaging.sendMessage(alice, {
        id: "m4",
        sessionId: session.id,
        content: "é".repeat(32_769),
        type: "text",
      }),
      "TOO_LARGE",
    );
    await expectCode(
      messaging.sendMessage(alice, {
        id: "m5",
        sessionId: session.id,
        content: "x",
        type: "text",
        metadata: { blob: "x".repeat(17_000) },
      }),
      "TOO_LARGE",
    );
    expect(await seqsOf(session.id)).toEqual([]);
    await expectCode(messaging.readMessages(mallory, session.id, 0), "FORBIDDEN");
  });

  it("reads after a seq in pages with hasMore, keeping every optional field", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    for (let i = 1; i <= 7; i++) {
      await messaging.sendMessage(bot, {
        id: `page-${i}`,
        sessionId: session.id,
        content: `c${i}`,
        type: "markdown",
        receiverId: alice.id,
        replyTo: "page-0",
        contextId: "plan",
        timestamp: 1_700_000_000_000 + i,
        metadata: { i },
      });
    }
    const first = await messaging.readMessages(alice, session.id, 2, 3);
    expect(first.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(first).toMatchObject({ headSeq: 7, hasMore: true });
    expect(first.messages[0]).toMatchObject({
      id: "page-3",
      senderId: bot.id,
      senderKind: "agent",
      receiverId: alice.id,
      replyTo: "page-0",
      contextId: "plan",
      timestamp: 1_700_000_000_003,
      metadata: { i: 3 },
      status: "sent",
    });
    const rest = await messaging.readMessages(alice, session.id, 5, 3);
    expect(rest.messages.map((m) => m.seq)).toEqual([6, 7]);
    expect(rest.hasMore).toBe(false);
  });
});

describe("contexts", () => {
  it("lets exactly one of many concurrent updates with the same expectedVersion win", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    const first = await messaging.updateContext(bot, {
      sessionId: session.id,
      contextId: "plan",
      contextData: { step: 0 },
    });
    expect(first.version).toBe(1);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        messaging.updateContext(bot, {
          sessionId: session.id,
          contextId: "plan",
          contextData: { step: i + 1 },
          expectedVersion: 1,
        }),
      ),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const o of lost) {
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: "CONFLICT" });
      expect(String((o as PromiseRejectedResult).reason.message)).toContain("current version");
    }
    const [stored] = await messaging.getContexts(alice, session.id, "plan");
    expect(stored?.version).toBe(2);
    const history = await tdb.pool.query(
      "select version from context_versions where session_id = $1 order by version",
      [session.id],
    );
    expect(history.rows.map((r) => r.version)).toEqual([1, 2]);
  });

  it("treats expectedVersion on a missing context as stale and 0 as 'must not exist'", async () => {
    const session = await messaging.createSession(alice, {});
    await expectCode(
      messaging.updateContext(alice, {
        sessionId: session.id,
        contextId: "notes",
        contextData: {},
        expectedVersion: 3,
      }),
      "CONFLICT",
    );
    await expectCode(messaging.getContexts(alice, session.id, "notes"), "NOT_FOUND");
    const created = await messaging.updateContext(alice, {
      sessionId: session.id,
      contextId: "notes",
      contextData: { a: 1 },
      expectedVersion: 0,
    });
    expect(created.version).toBe(1);
    await expectCode(
      messaging.updateContext(alice, {
        sessionId: session.id,
        contextId: "notes",
        contextData: { a: 2 },
        expectedVersion: 0,
      }),
      "CONFLICT",
    );
    await expectCode(messaging.getContexts(mallory, session.id), "FORBIDDEN");
  });
});

describe("membership", () => {
  it("checks membership on every call, so a removed member is refused at once", async () => {
    const session = await messaging.createSession(alice, { members: [bot.id] });
    await messaging.sendMessage(bot, {
      id: "before",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    await messaging.removeMember(alice, session.id, bot.id);
    await expectCode(
      messaging.sendMessage(bot, {
        id: "after",
        sessionId: session.id,
        content: "x",
        type: "text",
      }),
      "FORBIDDEN",
    );
    await expectCode(messaging.removeMember(alice, session.id, bot.id), "NOT_FOUND");
    await expectCode(messaging.createSession(alice, { id: session.id }), "CONFLICT");
  });
});
