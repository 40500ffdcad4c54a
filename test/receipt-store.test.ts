/**
 * The receipt write statement (src/messaging/receipt-store.ts) under concurrency: flushes from
 * several nodes carrying the same members in different orders neither deadlock nor lower a
 * watermark.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeReceipts } from "../src/messaging/receipt-store.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { seededRandom } from "./sdk-fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ max: 12 });
});
afterAll(async () => {
  await db.drop();
});

describe("writeReceipts", () => {
  it("takes concurrent flushes of the same members in any order, and keeps the greatest", async () => {
    const members = Array.from({ length: 40 }, (_, i) => `m-${i}`);
    await db.pool.query(
      "insert into sessions (id, created_by, last_seq) values ('rs', 'm-0', 100)",
    );
    await db.pool.query(
      "insert into session_members (session_id, principal_id) select 'rs', unnest($1::text[])",
      [members],
    );
    const random = seededRandom(12);
    const flushes = Array.from({ length: 12 }, (_, flush) => {
      const order = [...members].sort(() => random() - 0.5);
      return order.map((principalId) => ({
        sessionId: "rs",
        principalId,
        delivered: flush + 1,
        read: flush,
      }));
    });
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(flushes.map((rows) => writeReceipts(db.pool, rows)));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    }
    const { rows } = await db.pool.query(
      "select distinct delivered_seq, read_seq from session_members where session_id = 'rs'",
    );
    expect(rows.map((r) => [Number(r.delivered_seq), Number(r.read_seq)])).toEqual([[12, 11]]);
  });
});
