import type pg from "pg";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppendBatcher } from "../src/messaging/append-batcher.js";
import { createMessaging, type Messaging, type Principal } from "../src/messaging/index.js";
import type { Appended } from "../src/messaging/messages.js";
import { GatewayError, type StoredMessage } from "../src/protocol/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import {
  call,
  closeAllSockets,
  connect,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers/gateway.js";

const alice: Principal = { id: "alice", kind: "user" };
const bot: Principal = { id: "agent-1", kind: "agent" };
const mallory: Principal = { id: "mallory", kind: "user" };

let tdb: TestDatabase;
let messaging: Messaging;

beforeAll(async () => {
  tdb = await createTestDatabase({ max: 10 });
  messaging = createMessaging({ db: tdb.db, maxContentBytes: 65_536 });
});
afterAll(async () => {
  await tdb.drop();
});

/** The test database's pool, counting the statements sent through it. */
function countingPool(): { pool: pg.Pool; statements: () => number } {
  let count = 0;
  const real = tdb.pool;
  const pool = {
    query: (...args: unknown[]) => {
      count++;
      return (real.query as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as pg.Pool;
  return { pool, statements: () => count };
}

async function sessions(n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const session = await messaging.createSession(alice, {
      id: `${prefix}-${String(i).padStart(3, "0")}`,
      members: [bot.id],
    });
    ids.push(session.id);
  }
  return ids;
}

async function seqsOf(sessionId: string): Promise<number[]> {
  const r = await tdb.pool.query<{ seq: number }>(
    "select seq from messages where session_id = $1 order by seq",
    [sessionId],
  );
  return r.rows.map((row) => row.seq);
}

const text = (id: string, sessionId: string, content = "x") => ({
  id,
  sessionId,
  content,
  type: "text" as const,
});

describe("cross-session group commit", () => {
  it("writes appends to 40 sessions made in one turn as one statement", async () => {
    const ids = await sessions(40, "one-stmt");
    const { pool, statements } = countingPool();
    const batcher = createAppendBatcher(pool);
    const results = await Promise.all(
      ids.flatMap((sessionId) =>
        [0, 1, 2].map((k) => batcher.append(alice, text(`${sessionId}-m${k}`, sessionId))),
      ),
    );
    expect(results.map((r) => r.result.seq)).toEqual(ids.flatMap(() => [1, 2, 3]));
    expect(statements()).toBe(1);
    for (const sessionId of ids) expect(await seqsOf(sessionId)).toEqual([1, 2, 3]);
  });

  it("answers every row of one many-session batch exactly, and a bad row fails only itself", async () => {
    const ids = await sessions(5, "mixed");
    const [s0, s1, s2, s3, s4] = ids as [string, string, string, string, string];
    const batcher = createAppendBatcher(tdb.pool);
    const earlier = await batcher.append(alice, text("mixed-taken", s0));
    expect(earlier.result.seq).toBe(1);

    const settle = (p: Promise<Appended>) =>
      p.then(
        (v) => ({ ok: true as const, result: v.result, message: v.message }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const good = ids.flatMap((sessionId) =>
      [0, 1, 2, 3].map((k) =>
        settle(batcher.append(k % 2 ? bot : alice, text(`${sessionId}-g${k}`, sessionId))),
      ),
    );
    const retry = settle(batcher.append(alice, text("mixed-taken", s0)));
    const stolen = settle(batcher.append(bot, text("mixed-taken", s1)));
    const intruder = settle(batcher.append(mallory, text("mixed-intruder", s2)));
    const nowhere = settle(batcher.append(alice, text("mixed-nowhere", "no-such-session")));
    // Past the schema on purpose: Postgres refuses NUL in text.
    const bad = settle(batcher.append(alice, text("mixed-nul", s3, "a\u0000b")));
    const twiceFirst = settle(batcher.append(bot, text("mixed-twice", s4)));
    const twiceAgain = settle(batcher.append(bot, text("mixed-twice", s4)));
    const twiceOther = settle(batcher.append(alice, text("mixed-twice", s4)));

    const goods = await Promise.all(good);
    for (const [i, outcome] of goods.entries()) {
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) continue;
      expect(outcome.result.duplicate).toBe(false);
      // Session 0 already holds seq 1.
      expect(outcome.result.seq).toBe((i % 4) + 1 + (i < 4 ? 1 : 0));
      expect(outcome.message?.seq).toBe(outcome.result.seq);
    }
    const r = await retry;
    expect(r.ok && r.result).toMatchObject({ seq: 1, duplicate: true });
    const code = async (p: Promise<{ ok: boolean; error?: unknown }>) => {
      const o = await p;
      expect(o.ok).toBe(false);
      return o.error instanceof GatewayError ? o.error.code : String(o.error);
    };
    expect(await code(stolen)).toBe("CONFLICT");
    expect(await code(intruder)).toBe("FORBIDDEN");
    expect(await code(nowhere)).toBe("NOT_FOUND");
    expect((await bad).ok).toBe(false);
    const first = await twiceFirst;
    expect(first.ok && first.result).toMatchObject({ seq: 5, duplicate: false });
    const again = await twiceAgain;
    expect(again.ok && again.result).toMatchObject({ seq: 5, duplicate: true });
    expect(again.ok && again.message).toBeUndefined();
    expect(await code(twiceOther)).toBe("CONFLICT");

    expect(await seqsOf(s0)).toEqual([1, 2, 3, 4, 5]);
    expect(await seqsOf(s1)).toEqual([1, 2, 3, 4]);
    expect(await seqsOf(s2)).toEqual([1, 2, 3, 4]);
    expect(await seqsOf(s3)).toEqual([1, 2, 3, 4]);
    expect(await seqsOf(s4)).toEqual([1, 2, 3, 4, 5]);
  });

  it("fails the appends queued behind a write that found the database unavailable at once, without sending them", async () => {
    const [sessionId, other] = (await sessions(2, "down")) as [string, string];
    let statements = 0;
    const cut: { fail?: () => void } = {};
    const failWrite = () => cut.fail?.();
    const pool = {
      query: () => {
        statements++;
        // The first write hangs until the test cuts it off, as a dead connection would.
        return new Promise((_, reject) => {
          cut.fail = () =>
            reject(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
        });
      },
    } as unknown as pg.Pool;
    const batcher = createAppendBatcher(pool);
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => "stored",
        (e: unknown) => (e instanceof GatewayError ? e.code : String(e)),
      );
    const first = settle(batcher.append(alice, text("down-1", sessionId)));
    await waitFor(() => cut.fail !== undefined, 2_000, "the first write");
    const behind = [2, 3, 4].map((k) =>
      settle(batcher.append(alice, text(`down-${k}`, sessionId))),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const sentBeforeFailure = statements;
    failWrite();
    expect(await first).toBe("UNAVAILABLE");
    expect(await Promise.all(behind)).toEqual(["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"]);
    // Only the first write ever reached the pool: the queued ones were not each sent to time out.
    expect(sentBeforeFailure).toBe(1);
    expect(statements).toBe(1);
    // Another session is not failed by it: its append is simply written (and fails on its own).
    cut.fail = undefined;
    const unrelated = settle(batcher.append(alice, text("down-other", other)));
    await waitFor(() => cut.fail !== undefined, 2_000, "the other session's write");
    expect(statements).toBe(2);
    failWrite();
    expect(await unrelated).toBe("UNAVAILABLE");
  });

  it("has a session's next write on a connection before the previous write is acked and fanned out", async () => {
    const [sessionId] = (await sessions(1, "overlap")) as [string];
    const { pool, statements } = countingPool();
    const batcher = createAppendBatcher(pool);
    const first = batcher.append(alice, text("overlap-1", sessionId)).then(() => ({
      statements: statements(),
      // Queries still waiting for a pooled connection (0: the next one has its connection).
      waiting: tdb.pool.waitingCount,
    }));
    // The batcher sends this turn's appends in a setImmediate queued before this one.
    await new Promise((resolve) => setImmediate(resolve));
    expect(statements()).toBe(1);
    const later = [2, 3].map((k) => batcher.append(alice, text(`overlap-${k}`, sessionId)));
    const seen = await first;
    expect(seen).toEqual({ statements: 2, waiting: 0 });
    expect((await Promise.all(later)).map((r) => r.result.seq)).toEqual([2, 3]);
  });

  it("keeps ack order = seq order = publish order per session under overlapping batches", async () => {
    const ids = await sessions(3, "order");
    const published = new Map<string, number[]>();
    const acked = new Map<string, number[]>();
    const local = createMessaging({
      db: tdb.db,
      maxContentBytes: 65_536,
      publisher: {
        message: (m) => {
          published.set(m.sessionId, [...(published.get(m.sessionId) ?? []), m.seq]);
        },
        context: () => {},
        memberRemoved: () => {},
      },
    });
    const sends: Promise<void>[] = [];
    // Waves over many turns, so that several writes are in flight while more arrive.
    for (let wave = 0; wave < 30; wave++) {
      for (const sessionId of ids) {
        for (let k = 0; k < 5; k++) {
          const sender = k % 2 ? bot : alice;
          sends.push(
            local.sendMessage(sender, text(`${sessionId}-w${wave}-${k}`, sessionId)).then((r) => {
              acked.set(sessionId, [...(acked.get(sessionId) ?? []), r.seq]);
            }),
          );
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sends);
    const all = Array.from({ length: 150 }, (_, i) => i + 1);
    for (const sessionId of ids) {
      expect(acked.get(sessionId)).toEqual(all);
      expect(published.get(sessionId)).toEqual(all);
      expect(await seqsOf(sessionId)).toEqual(all);
    }
  });
});

describe("fan-out order through the gateway", () => {
  let node: TestGateway;
  beforeAll(async () => {
    node = await startTestGateway();
  });
  afterAll(async () => {
    closeAllSockets();
    await node.close();
  });

  it("shows a receiving socket each session's messages in seq order while many sessions write at once", async () => {
    const SESSIONS = 4;
    const PER_SESSION = 200;
    const ids: string[] = [];
    for (let s = 0; s < SESSIONS; s++) {
      const session = await node.gateway.messaging.createSession(alice, {
        id: `fan-${s}`,
        members: [bot.id],
      });
      ids.push(session.id);
    }
    const receiver: Socket = await connect(node.url, "/agents", {
      token: await node.token(bot.id, "agent"),
    });
    const got = new Map<string, number[]>();
    receiver.on("message", (m: StoredMessage) => {
      got.set(m.sessionId, [...(got.get(m.sessionId) ?? []), m.seq]);
    });
    for (const sessionId of ids) await call(receiver, "join_session", { sessionId });

    const sends: Promise<unknown>[] = [];
    for (let wave = 0; wave < PER_SESSION / 10; wave++) {
      for (const sessionId of ids) {
        for (let k = 0; k < 10; k++) {
          sends.push(
            node.gateway.messaging.sendMessage(alice, text(`${sessionId}-${wave}-${k}`, sessionId)),
          );
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sends);
    await waitFor(
      () => ids.every((id) => (got.get(id)?.length ?? 0) >= PER_SESSION),
      10_000,
      "every message at the receiver",
    );
    const all = Array.from({ length: PER_SESSION }, (_, i) => i + 1);
    for (const sessionId of ids) expect(got.get(sessionId)).toEqual(all);
  });
});
