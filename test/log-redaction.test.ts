/**
 * Query values never reach a log line: a failing query whose parameters hold a message's content
 * is logged through the real paths (the socket ack wrapper, the HTTP error handler's logger) with
 * its type, code and SQL, but not the content.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../src/db/schema.js";
import { createLogger } from "../src/observability/logger.js";
import { toAckError } from "../src/realtime/ack.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const SECRET = "sk-live-4f9a2c7e91b34d0f8e6a5b1c";
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function capture() {
  const lines: string[] = [];
  const logger = createLogger({
    level: "info",
    nodeId: "test",
    destination: { write: (line: string) => lines.push(line) },
  });
  return { logger, lines };
}

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => {
      throw new Error("the query succeeded");
    },
    (err: unknown) => err,
  );
}

describe("logged database errors", () => {
  it("keep drizzle's query but not its parameters", async () => {
    const err = await failure(() =>
      db.db.insert(messages).values({
        sessionId: "no-such-session",
        seq: 1,
        id: "m-1",
        senderId: "alice",
        senderKind: "user",
        type: "text",
        content: `my key is ${SECRET}`,
      }),
    );
    expect(String((err as Error).message)).toContain(SECRET);
    const { logger, lines } = capture();
    const ack = toAckError(err, logger, { event: "message" });
    expect(ack.code).toBe("INTERNAL");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    const logged = JSON.parse(lines[0] ?? "{}") as { err: Record<string, unknown> };
    expect(logged.err).toMatchObject({
      type: "DrizzleQueryError",
      message: expect.stringContaining("params: [redacted]"),
      query: expect.stringContaining('insert into "messages"'),
      cause: { code: "23503", constraint: expect.any(String) },
    });
  });

  it("drop the values Postgres echoes in its message and detail", async () => {
    const err = await failure(() => db.db.execute(sql`select ${SECRET}::int`));
    const { logger, lines } = capture();
    logger.error({ err, params: [SECRET], parameters: { content: SECRET } }, "unhandled error");
    expect(lines[0]).toContain("22P02");
    expect(lines[0]).not.toContain(SECRET);
  });
});
