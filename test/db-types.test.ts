import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await tdb?.drop();
});

describe("bigint parsing", () => {
  it("the gateway's pool reads int8 as a number", async () => {
    const { rows } = await tdb.pool.query<{ n: unknown }>("select 9007199254740991::int8 as n");
    expect(rows[0]?.n).toBe(9_007_199_254_740_991);
  });

  it("other pg clients in the process keep pg's default (a string)", async () => {
    const client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: unknown }>("select 42::int8 as n");
      expect(rows[0]?.n).toBe("42");
    } finally {
      await client.end();
    }
  });
});
