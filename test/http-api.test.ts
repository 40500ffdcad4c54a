/**
 * The HTTP API of PROTOCOL.md section 8, in process through `app.request` (no server), on a real
 * messaging core and a real Postgres database of its own.
 */
import { randomUUID } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTokenVerifier, type TokenVerifier } from "../src/auth/tokens.js";
import { createHttpApp, type HttpAppDeps } from "../src/http/app.js";
import { createMessaging, type Messaging } from "../src/messaging/index.js";
import { createLogger, type Logger } from "../src/observability/logger.js";
import { createMetrics, type Metrics } from "../src/observability/metrics.js";
import type { AppendResult, Context, MessagePage, Session } from "../src/protocol/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const SECRET = "x".repeat(40);
const MAX_CONTENT_BYTES = 65_536;
const MAX_BODY_BYTES = MAX_CONTENT_BYTES * 2 + 32_768;

let tdb: TestDatabase;
let messaging: Messaging;
let tokens: TokenVerifier;
let silent: Logger;
let metrics: Metrics;

beforeAll(async () => {
  tdb = await createTestDatabase({ max: 10 });
  messaging = createMessaging({ db: tdb.db, maxContentBytes: MAX_CONTENT_BYTES });
  tokens = createTokenVerifier({ secret: SECRET });
  silent = createLogger({ level: "silent", nodeId: "test" });
  metrics = createMetrics({ nodeId: "test" });
});
afterAll(async () => {
  metrics.stop();
  await tdb.drop();
});

type App = ReturnType<typeof createHttpApp>;

function makeApp(overrides: Partial<HttpAppDeps> = {}): App {
  return createHttpApp({
    messaging,
    tokens,
    logger: silent,
    devTokens: true,
    maxBodyBytes: MAX_BODY_BYTES,
    ...overrides,
  });
}

interface Reply<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

interface CallOptions {
  token?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is, for malformed bodies. */
  raw?: string;
  headers?: Record<string, string>;
}

async function call<T = Record<string, unknown>>(
  app: App,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (options.raw !== undefined) body = options.raw;
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  if (res.headers.get("content-type")?.includes("application/json")) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

type ErrorReply = { error: { code: string; message: string }; requestId: string };

/** The documented error shape, status and code; `message` optionally matched. */
function expectError(reply: Reply<unknown>, status: number, code: string, message?: RegExp) {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({
    error: { code, message: expect.any(String) },
    requestId: expect.any(String),
  });
  const body = reply.body as ErrorReply;
  expect(body.requestId).toBe(reply.headers.get("x-request-id"));
  if (message) expect(body.error.message).toMatch(message);
}

const TABLES = ["sessions", "session_members", "messages", "contexts", "context_versions"] as const;

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const r = await tdb.pool.query<{ n: number }>(`select count(*)::int as n from ${table}`);
    counts[table] = r.rows[0]?.n ?? -1;
  }
  return counts;
}

/** Runs `act` and checks no table gained or lost a row. */
async function expectNothingStored(act: () => Promise<void>) {
  const before = await rowCounts();
  await act();
  expect(await rowCounts()).toEqual(before);
}

const alice = { sub: "alice", kind: "user" as const };
const bob = { sub: "bob", kind: "user" as const };
const bot = { sub: "agent-1", kind: "agent" as const };

function tokenFor(claims: { sub: string; kind: "agent" | "user" }) {
  return tokens.sign(claims, 3600);
}

function message(overrides: Record<string, unknown> = {}) {
  return { id: `m-${randomUUID()}`, content: "hello", type: "text", ...overrides };
}

async function newSession(app: App, token: string, members: string[] = []): Promise<Session> {
  const reply = await call<Session>(app, "POST", "/v1/sessions", { token, json: { members } });
  expect(reply.status).toBe(201);
  return reply.body;
}

describe("HTTP API: the documented flow", () => {
  let app: App;
  let aliceToken: string;
  beforeAll(async () => {
    app = makeApp();
    aliceToken = await tokenFor(alice);
  });

  it("issues a dev token that authenticates later calls as its sub and kind", async () => {
    const reply = await call<{ token: string }>(app, "POST", "/v1/dev/token", {
      json: { sub: "carol", kind: "agent", name: "Carol" },
    });
    expect(reply.status).toBe(200);
    const verified = await tokens.verify(reply.body.token);
    expect(verified.principal).toEqual({ id: "carol", kind: "agent", name: "Carol" });

    const created = await call<Session>(app, "POST", "/v1/sessions", {
      token: reply.body.token,
      json: {},
    });
    expect(created.status).toBe(201);
    expect(created.body.members).toEqual(["carol"]);
  });

  it("creates a session with the caller as a member and returns it by id", async () => {
    const created = await call<Session>(app, "POST", "/v1/sessions", {
      token: aliceToken,
      json: { id: "flow-create", title: "Planning", members: ["agent-1"] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: "flow-create",
      title: "Planning",
      members: ["alice", "agent-1"],
      headSeq: 0,
      // This app verifies tokens without recording principals: nobody has been seen.
      memberDetails: [
        { principalId: "alice", kind: null, name: "alice" },
        { principalId: "agent-1", kind: null, name: "agent-1" },
      ],
    });
    const fetched = await call<Session>(app, "GET", "/v1/sessions/flow-create", {
      token: await tokenFor(bot),
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ id: "flow-create", title: "Planning", headSeq: 0 });
    expect([...fetched.body.members].sort()).toEqual(["agent-1", "alice"]);
  });

  it("gives a session a generated id when none is asked for", async () => {
    const created = await call<Session>(app, "POST", "/v1/sessions", {
      token: aliceToken,
      json: {},
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body).toMatchObject({ title: null, members: ["alice"], headSeq: 0 });
  });

  it("adds a member with 201, who can then read the session", async () => {
    const session = await newSession(app, aliceToken);
    const added = await call(app, "POST", `/v1/sessions/${session.id}/members`, {
      token: aliceToken,
      json: { principalId: "bob" },
    });
    expect(added.status).toBe(201);
    const asBob = await call<Session>(app, "GET", `/v1/sessions/${session.id}`, {
      token: await tokenFor(bob),
    });
    expect(asBob.status).toBe(200);
    expect(asBob.body.members).toEqual(["alice", "bob"]);
  });

  it("stores a message with 201 and answers a resend of its id with 200, the same seq and duplicate: true", async () => {
    const session = await newSession(app, aliceToken);
    const body = message({ id: "flow-once" });
    const first = await call<AppendResult>(app, "POST", `/v1/sessions/${session.id}/messages`, {
      token: aliceToken,
      json: body,
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: "flow-once",
      seq: 1,
      createdAt: expect.any(Number),
      duplicate: false,
    });
    const again = await call<AppendResult>(app, "POST", `/v1/sessions/${session.id}/messages`, {
      token: aliceToken,
      json: body,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    const stored = await tdb.pool.query("select seq from messages where session_id = $1", [
      session.id,
    ]);
    expect(stored.rows).toEqual([{ seq: 1 }]);
  });

  it("stores the sender from the token and returns every field when messages are read", async () => {
    const session = await newSession(app, aliceToken, ["agent-1"]);
    const botToken = await tokenFor(bot);
    const sent = await call<AppendResult>(app, "POST", `/v1/sessions/${session.id}/messages`, {
      token: botToken,
      json: message({
        id: "full",
        content: "**done**",
        type: "markdown",
        senderId: "agent-1",
        receiverId: "alice",
        contextId: "plan",
        replyTo: "earlier",
        timestamp: 1_700_000_000_000,
        metadata: { tool: "search", n: 2 },
      }),
    });
    expect(sent.status).toBe(201);
    const page = await call<MessagePage>(app, "GET", `/v1/sessions/${session.id}/messages`, {
      token: aliceToken,
    });
    expect(page.status).toBe(200);
    expect(page.body).toEqual({
      messages: [
        {
          id: "full",
          sessionId: session.id,
          seq: 1,
          senderId: "agent-1",
          senderKind: "agent",
          senderName: "agent-1",
          content: "**done**",
          type: "markdown",
          receiverId: "alice",
          contextId: "plan",
          replyTo: "earlier",
          metadata: { tool: "search", n: 2 },
          timestamp: 1_700_000_000_000,
          createdAt: sent.body.createdAt,
          status: "sent",
        },
      ],
      headSeq: 1,
      hasMore: false,
    });
  });

  it("pages messages oldest first by afterSeq and limit, saying whether more remain", async () => {
    const session = await newSession(app, aliceToken);
    for (let i = 1; i <= 5; i++) {
      const r = await call(app, "POST", `/v1/sessions/${session.id}/messages`, {
        token: aliceToken,
        json: message({ content: `n${i}` }),
      });
      expect(r.status).toBe(201);
    }
    const read = async (query: string) => {
      const r = await call<MessagePage>(app, "GET", `/v1/sessions/${session.id}/messages${query}`, {
        token: aliceToken,
      });
      expect(r.status).toBe(200);
      return {
        seqs: r.body.messages.map((m) => m.seq),
        contents: r.body.messages.map((m) => m.content),
        headSeq: r.body.headSeq,
        hasMore: r.body.hasMore,
      };
    };
    expect(await read("")).toMatchObject({ seqs: [1, 2, 3, 4, 5], headSeq: 5, hasMore: false });
    expect(await read("?afterSeq=0&limit=2")).toEqual({
      seqs: [1, 2],
      contents: ["n1", "n2"],
      headSeq: 5,
      hasMore: true,
    });
    expect(await read("?afterSeq=2&limit=2")).toMatchObject({ seqs: [3, 4], hasMore: true });
    expect(await read("?afterSeq=4&limit=2")).toMatchObject({ seqs: [5], hasMore: false });
    expect(await read("?afterSeq=5")).toEqual({
      seqs: [],
      contents: [],
      headSeq: 5,
      hasMore: false,
    });
    // A message timestamp defaults to the commit time when the sender gave none.
    const all = await call<MessagePage>(app, "GET", `/v1/sessions/${session.id}/messages`, {
      token: aliceToken,
    });
    for (const m of all.body.messages) expect(m.timestamp).toBe(m.createdAt);
  });

  it("pages backwards by beforeSeq, oldest first in each page, and refuses beforeSeq with afterSeq", async () => {
    const session = await newSession(app, aliceToken);
    for (let i = 1; i <= 5; i++) {
      const r = await call(app, "POST", `/v1/sessions/${session.id}/messages`, {
        token: aliceToken,
        json: message({ content: `n${i}` }),
      });
      expect(r.status).toBe(201);
    }
    const read = async (query: string) => {
      const r = await call<MessagePage>(app, "GET", `/v1/sessions/${session.id}/messages${query}`, {
        token: aliceToken,
      });
      expect(r.status).toBe(200);
      return {
        seqs: r.body.messages.map((m) => m.seq),
        headSeq: r.body.headSeq,
        hasMore: r.body.hasMore,
      };
    };
    expect(await read("?beforeSeq=6&limit=2")).toEqual({ seqs: [4, 5], headSeq: 5, hasMore: true });
    expect(await read("?beforeSeq=4&limit=2")).toEqual({ seqs: [2, 3], headSeq: 5, hasMore: true });
    expect(await read("?beforeSeq=2&limit=2")).toEqual({ seqs: [1], headSeq: 5, hasMore: false });
    expect(await read("?beforeSeq=1")).toEqual({ seqs: [], headSeq: 5, hasMore: false });
    // Past the head reads the newest page, as a client that does not know the head would ask.
    expect(await read("?beforeSeq=1000000000000&limit=3")).toMatchObject({
      seqs: [3, 4, 5],
      hasMore: true,
    });
    const both = await call<{ error: { code: string } }>(
      app,
      "GET",
      `/v1/sessions/${session.id}/messages?afterSeq=1&beforeSeq=4`,
      { token: aliceToken },
    );
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe("INVALID_PAYLOAD");
  });

  it("creates a context at version 1, updates it at the expected version, and reads it back", async () => {
    const session = await newSession(app, aliceToken, ["agent-1"]);
    const base = `/v1/sessions/${session.id}/contexts`;
    const created = await call(app, "PUT", `${base}/plan:v1`, {
      token: aliceToken,
      json: { contextData: { step: 1 } },
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      contextId: "plan:v1",
      version: 1,
      updatedAt: expect.any(Number),
    });

    const updated = await call(app, "PUT", `${base}/plan:v1`, {
      token: await tokenFor(bot),
      json: { contextData: { step: 2 }, expectedVersion: 1 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ contextId: "plan:v1", version: 2 });

    const one = await call<Context>(app, "GET", `${base}/plan:v1`, { token: aliceToken });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({
      sessionId: session.id,
      contextId: "plan:v1",
      contextData: { step: 2 },
      version: 2,
      sourceAgentId: "agent-1",
      updatedAt: expect.any(Number),
    });

    await call(app, "PUT", `${base}/notes`, { token: aliceToken, json: { contextData: { a: 1 } } });
    const all = await call<{ contexts: Context[] }>(app, "GET", base, { token: aliceToken });
    expect(all.status).toBe(200);
    expect(all.body.contexts.map((c) => [c.contextId, c.version])).toEqual([
      ["plan:v1", 2],
      ["notes", 1],
    ]);
    const history = await tdb.pool.query<{ version: number }>(
      "select version from context_versions where session_id = $1 and context_id = 'plan:v1' order by version",
      [session.id],
    );
    expect(history.rows.map((r) => r.version)).toEqual([1, 2]);
  });

  it("removes a member with 204, after which that member is FORBIDDEN everywhere in the session", async () => {
    const session = await newSession(app, aliceToken, ["bob"]);
    const bobToken = await tokenFor(bob);
    const before = await call(app, "GET", `/v1/sessions/${session.id}`, { token: bobToken });
    expect(before.status).toBe(200);

    const removed = await call(app, "DELETE", `/v1/sessions/${session.id}/members/bob`, {
      token: aliceToken,
    });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe("");

    await expectNothingStored(async () => {
      const base = `/v1/sessions/${session.id}`;
      expectError(await call(app, "GET", base, { token: bobToken }), 403, "FORBIDDEN");
      expectError(
        await call(app, "GET", `${base}/messages`, { token: bobToken }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await call(app, "POST", `${base}/messages`, { token: bobToken, json: message() }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await call(app, "PUT", `${base}/contexts/c`, {
          token: bobToken,
          json: { contextData: {} },
        }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await call(app, "GET", `${base}/contexts`, { token: bobToken }),
        403,
        "FORBIDDEN",
      );
    });
  });

  it("answers NOT_FOUND when removing someone who is not a member", async () => {
    const session = await newSession(app, aliceToken);
    expectError(
      await call(app, "DELETE", `/v1/sessions/${session.id}/members/nobody`, { token: aliceToken }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("HTTP API: refused requests store nothing", () => {
  let app: App;
  let aliceToken: string;
  let session: Session;
  let path: string;

  beforeAll(async () => {
    app = makeApp();
    aliceToken = await tokenFor(alice);
    session = await newSession(app, aliceToken, ["agent-1"]);
    path = `/v1/sessions/${session.id}/messages`;
  });

  const post = (json: unknown, token: string | undefined = aliceToken) =>
    call(app, "POST", path, token === undefined ? { json } : { token, json });

  it("refuses malformed JSON with 400 INVALID_PAYLOAD", async () => {
    await expectNothingStored(async () => {
      expectError(
        await call(app, "POST", path, { token: aliceToken, raw: '{"id": "x", "content": ' }),
        400,
        "INVALID_PAYLOAD",
        /not valid JSON/,
      );
    });
  });

  it("refuses an empty body with 400 INVALID_PAYLOAD", async () => {
    await expectNothingStored(async () => {
      expectError(
        await call(app, "POST", path, { token: aliceToken, raw: "" }),
        400,
        "INVALID_PAYLOAD",
      );
    });
  });

  it("refuses a JSON body that is not an object with 400 INVALID_PAYLOAD", async () => {
    await expectNothingStored(async () => {
      expectError(await post([message()]), 400, "INVALID_PAYLOAD");
      expectError(await post("hello"), 400, "INVALID_PAYLOAD");
    });
  });

  it("refuses wrong field types with 400 INVALID_PAYLOAD naming the field", async () => {
    await expectNothingStored(async () => {
      expectError(await post(message({ content: 42 })), 400, "INVALID_PAYLOAD", /content/);
      expectError(await post(message({ type: "shout" })), 400, "INVALID_PAYLOAD", /type/);
      expectError(await post(message({ id: "has space" })), 400, "INVALID_PAYLOAD", /id/);
      expectError(await post(message({ timestamp: "now" })), 400, "INVALID_PAYLOAD", /timestamp/);
      expectError(await post(message({ metadata: [1, 2] })), 400, "INVALID_PAYLOAD", /metadata/);
      expectError(await post({ content: "no id", type: "text" }), 400, "INVALID_PAYLOAD", /id/);
    });
  });

  it("refuses unknown fields with 400 INVALID_PAYLOAD naming them", async () => {
    await expectNothingStored(async () => {
      expectError(await post(message({ colour: "red" })), 400, "INVALID_PAYLOAD", /colour/);
      // The session comes from the path; a body that repeats it is refused, not silently ignored.
      expectError(
        await post(message({ sessionId: session.id })),
        400,
        "INVALID_PAYLOAD",
        /sessionId/,
      );
      expectError(
        await call(app, "POST", "/v1/sessions", { token: aliceToken, json: { name: "typo" } }),
        400,
        "INVALID_PAYLOAD",
        /name/,
      );
    });
  });

  it("refuses wrong types when creating a session or adding a member", async () => {
    await expectNothingStored(async () => {
      expectError(
        await call(app, "POST", "/v1/sessions", { token: aliceToken, json: { members: "bob" } }),
        400,
        "INVALID_PAYLOAD",
        /members/,
      );
      expectError(
        await call(app, "POST", "/v1/sessions", { token: aliceToken, json: { id: "a/b" } }),
        400,
        "INVALID_PAYLOAD",
        /id/,
      );
      expectError(
        await call(app, "POST", `/v1/sessions/${session.id}/members`, {
          token: aliceToken,
          json: { principalId: 7 },
        }),
        400,
        "INVALID_PAYLOAD",
        /principalId/,
      );
      expectError(
        await call(app, "PUT", `/v1/sessions/${session.id}/contexts/c`, {
          token: aliceToken,
          json: { contextData: "text" },
        }),
        400,
        "INVALID_PAYLOAD",
        /contextData/,
      );
    });
  });

  it("refuses bad paging parameters with 400 INVALID_PAYLOAD", async () => {
    for (const query of ["limit=0", "limit=501", "afterSeq=-1", "afterSeq=abc", "after=3"]) {
      expectError(
        await call(app, "GET", `${path}?${query}`, { token: aliceToken }),
        400,
        "INVALID_PAYLOAD",
      );
    }
  });

  it("refuses content over MAX_CONTENT_BYTES with 413 TOO_LARGE", async () => {
    await expectNothingStored(async () => {
      expectError(
        await post(message({ content: "a".repeat(MAX_CONTENT_BYTES + 1) })),
        413,
        "TOO_LARGE",
        /content/,
      );
      // The limit is in UTF-8 bytes, not characters: 32,769 two-byte characters are too many.
      expectError(
        await post(message({ content: "é".repeat(MAX_CONTENT_BYTES / 2 + 1) })),
        413,
        "TOO_LARGE",
        /content/,
      );
    });
    // Exactly at the limit is accepted.
    const atLimit = await post(message({ content: "a".repeat(MAX_CONTENT_BYTES) }));
    expect(atLimit.status).toBe(201);
  });

  it("refuses metadata over 16 KiB serialized with 413 TOO_LARGE", async () => {
    await expectNothingStored(async () => {
      expectError(
        await post(message({ metadata: { blob: "m".repeat(16_384) } })),
        413,
        "TOO_LARGE",
        /metadata/,
      );
    });
  });

  it("refuses a body over the body limit with 413 TOO_LARGE, with or without a content-length", async () => {
    const raw = JSON.stringify(message({ content: "b".repeat(MAX_BODY_BYTES) }));
    await expectNothingStored(async () => {
      expectError(
        await call(app, "POST", path, {
          token: aliceToken,
          raw,
          headers: { "content-length": String(raw.length) },
        }),
        413,
        "TOO_LARGE",
        /body/,
      );
      expectError(
        await call(app, "POST", path, { token: aliceToken, raw }),
        413,
        "TOO_LARGE",
        /body/,
      );
    });
  });

  it("refuses a call without a token with 401 AUTH_REQUIRED", async () => {
    await expectNothingStored(async () => {
      expectError(await call(app, "POST", path, { json: message() }), 401, "AUTH_REQUIRED");
      expectError(
        await call(app, "POST", path, { json: message(), headers: { authorization: "Bearer " } }),
        401,
        "AUTH_REQUIRED",
      );
      expectError(await call(app, "POST", "/v1/sessions", { json: {} }), 401, "AUTH_REQUIRED");
    });
  });

  it("refuses a garbage token with 401 AUTH_INVALID", async () => {
    await expectNothingStored(async () => {
      expectError(await post(message(), "not-a-jwt"), 401, "AUTH_INVALID");
      expectError(await post(message(), "a.b.c"), 401, "AUTH_INVALID");
    });
  });

  it("refuses an expired token with 401 AUTH_EXPIRED", async () => {
    const expired = await new SignJWT({ kind: "user" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(SECRET));
    await expectNothingStored(async () => {
      expectError(await post(message(), expired), 401, "AUTH_EXPIRED");
    });
  });

  it("refuses an unsigned alg:none token with 401 AUTH_INVALID", async () => {
    const unsigned = new UnsecuredJWT({ kind: "user" })
      .setSubject("alice")
      .setExpirationTime("1h")
      .encode();
    expect(JSON.parse(Buffer.from(unsigned.split(".")[0] ?? "", "base64url").toString())).toEqual({
      alg: "none",
    });
    await expectNothingStored(async () => {
      expectError(await post(message(), unsigned), 401, "AUTH_INVALID");
    });
  });

  it("refuses a token signed with another secret with 401 AUTH_INVALID", async () => {
    const forged = await createTokenVerifier({ secret: "y".repeat(40) }).sign(alice, 3600);
    await expectNothingStored(async () => {
      expectError(await post(message(), forged), 401, "AUTH_INVALID");
    });
  });

  it("refuses a token whose kind is neither agent nor user with 401 AUTH_INVALID", async () => {
    const admin = await new SignJWT({ kind: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(SECRET));
    await expectNothingStored(async () => {
      expectError(await post(message(), admin), 401, "AUTH_INVALID", /claims/);
    });
  });

  it("refuses a token without exp with 401 AUTH_INVALID when dev tokens are off", async () => {
    const eternal = await new SignJWT({ kind: "user" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .sign(new TextEncoder().encode(SECRET));
    await expectNothingStored(async () => {
      expectError(await post(message(), eternal), 401, "AUTH_INVALID", /exp/);
    });
  });

  it("accepts the Bearer scheme in any letter case", async () => {
    const reply = await call(app, "GET", `/v1/sessions/${session.id}`, {
      headers: { authorization: `bearer ${aliceToken}` },
    });
    expect(reply.status).toBe(200);
  });

  it("refuses a caller who is not a member with 403 FORBIDDEN", async () => {
    const mallory = await tokenFor({ sub: "mallory", kind: "user" });
    await expectNothingStored(async () => {
      expectError(await post(message(), mallory), 403, "FORBIDDEN");
      expectError(
        await call(app, "POST", `/v1/sessions/${session.id}/members`, {
          token: mallory,
          json: { principalId: "mallory" },
        }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await call(app, "DELETE", `/v1/sessions/${session.id}/members/alice`, { token: mallory }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await call(app, "PUT", `/v1/sessions/${session.id}/contexts/c`, {
          token: mallory,
          json: { contextData: { x: 1 } },
        }),
        403,
        "FORBIDDEN",
      );
    });
  });

  it("refuses a senderId other than the token's sub with 403 FORBIDDEN", async () => {
    await expectNothingStored(async () => {
      expectError(await post(message({ senderId: "agent-1" })), 403, "FORBIDDEN", /senderId/);
    });
  });

  it("answers 404 NOT_FOUND for a session that does not exist", async () => {
    await expectNothingStored(async () => {
      const base = "/v1/sessions/no-such-session";
      expectError(await call(app, "GET", base, { token: aliceToken }), 404, "NOT_FOUND");
      expectError(
        await call(app, "POST", `${base}/messages`, { token: aliceToken, json: message() }),
        404,
        "NOT_FOUND",
      );
      expectError(
        await call(app, "GET", `${base}/messages`, { token: aliceToken }),
        404,
        "NOT_FOUND",
      );
      expectError(
        await call(app, "POST", `${base}/members`, {
          token: aliceToken,
          json: { principalId: "bob" },
        }),
        404,
        "NOT_FOUND",
      );
      expectError(
        await call(app, "PUT", `${base}/contexts/c`, {
          token: aliceToken,
          json: { contextData: {} },
        }),
        404,
        "NOT_FOUND",
      );
    });
  });

  it("answers 404 NOT_FOUND for a context that does not exist", async () => {
    expectError(
      await call(app, "GET", `/v1/sessions/${session.id}/contexts/missing`, { token: aliceToken }),
      404,
      "NOT_FOUND",
    );
  });

  it("refuses a message id reused by another sender or in another session with 409 CONFLICT", async () => {
    const first = await post(message({ id: "taken-id", content: "original" }));
    expect(first.status).toBe(201);
    const other = await newSession(app, aliceToken);
    const botToken = await tokenFor(bot);
    await expectNothingStored(async () => {
      expectError(
        await post(message({ id: "taken-id", content: "impostor" }), botToken),
        409,
        "CONFLICT",
        /taken-id/,
      );
      expectError(
        await call(app, "POST", `/v1/sessions/${other.id}/messages`, {
          token: aliceToken,
          json: message({ id: "taken-id" }),
        }),
        409,
        "CONFLICT",
      );
    });
    const stored = await tdb.pool.query(
      "select content, sender_id from messages where id = 'taken-id'",
    );
    expect(stored.rows).toEqual([{ content: "original", sender_id: "alice" }]);
  });

  it("refuses a session id that is already taken with 409 CONFLICT", async () => {
    await expectNothingStored(async () => {
      expectError(
        await call(app, "POST", "/v1/sessions", { token: aliceToken, json: { id: session.id } }),
        409,
        "CONFLICT",
      );
    });
  });

  it("refuses a stale expectedVersion with 409 CONFLICT naming the current version", async () => {
    const url = `/v1/sessions/${session.id}/contexts/stale-test`;
    await call(app, "PUT", url, { token: aliceToken, json: { contextData: { v: 1 } } });
    await call(app, "PUT", url, {
      token: aliceToken,
      json: { contextData: { v: 2 }, expectedVersion: 1 },
    });
    await expectNothingStored(async () => {
      expectError(
        await call(app, "PUT", url, {
          token: aliceToken,
          json: { contextData: { v: "lost" }, expectedVersion: 1 },
        }),
        409,
        "CONFLICT",
        /current version .* is 2/,
      );
      // A context that does not exist yet is at version 0, not at any later one.
      expectError(
        await call(app, "PUT", `/v1/sessions/${session.id}/contexts/fresh`, {
          token: aliceToken,
          json: { contextData: {}, expectedVersion: 3 },
        }),
        409,
        "CONFLICT",
      );
    });
    const current = await call<Context>(app, "GET", url, { token: aliceToken });
    expect(current.body).toMatchObject({ version: 2, contextData: { v: 2 } });
  });

  it("refuses a bad dev-token request with 400 INVALID_PAYLOAD", async () => {
    expectError(
      await call(app, "POST", "/v1/dev/token", { json: { sub: "eve", kind: "admin" } }),
      400,
      "INVALID_PAYLOAD",
      /kind/,
    );
    expectError(
      await call(app, "POST", "/v1/dev/token", { json: { sub: "has space", kind: "user" } }),
      400,
      "INVALID_PAYLOAD",
      /sub/,
    );
  });

  it("answers 404 for the dev-token route when dev tokens are off, with or without a token", async () => {
    const locked = makeApp({ devTokens: false });
    const body = { sub: "eve", kind: "user" };
    expectError(await call(locked, "POST", "/v1/dev/token", { json: body }), 404, "NOT_FOUND");
    expectError(
      await call(locked, "POST", "/v1/dev/token", { token: aliceToken, json: body }),
      404,
      "NOT_FOUND",
    );
  });

  it("answers 404 NOT_FOUND in the error shape for an unknown route", async () => {
    expectError(await call(app, "GET", "/nope"), 404, "NOT_FOUND", /GET \/nope/);
    expectError(await call(app, "GET", "/v1/nope", { token: aliceToken }), 404, "NOT_FOUND");
    expectError(
      await call(app, "PATCH", `/v1/sessions/${session.id}`, { token: aliceToken, json: {} }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("HTTP API: health, readiness, metrics and docs", () => {
  it("answers /healthz with 200", async () => {
    const reply = await call(makeApp(), "GET", "/healthz");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 or 503 as the readiness dependency reports", async () => {
    let ready = true;
    const app = makeApp({
      readiness: async () => ({ ready, checks: { database: ready, cluster: true } }),
    });
    const up = await call(app, "GET", "/readyz");
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: "ready", ready: true, checks: { database: true } });
    ready = false;
    const down = await call(app, "GET", "/readyz");
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: "not ready",
      ready: false,
      checks: { database: false },
    });
  });

  it("serves Prometheus text on /metrics, counting requests by route and status", async () => {
    const app = makeApp({ metrics });
    await call(app, "GET", "/healthz");
    const reply = await call(app, "GET", "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(reply.text).toMatch(/tkr_http_requests_total\{[^}]*route="\/healthz"[^}]*status="200"/);
  });

  it("serves an OpenAPI 3.1 document listing every /v1 route the app serves", async () => {
    const app = makeApp();
    const reply = await call<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      app,
      "GET",
      "/openapi.json",
    );
    expect(reply.status).toBe(200);
    expect(reply.body.openapi).toMatch(/^3\.1\./);
    const documented = Object.entries(reply.body.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    // PROTOCOL.md section 8, word for word.
    expect(documented).toEqual(
      expect.arrayContaining([
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /metrics/socket",
        "POST /v1/dev/token",
        "POST /v1/sessions",
        "GET /v1/sessions/{id}",
        "POST /v1/sessions/{id}/members",
        "DELETE /v1/sessions/{id}/members/{principalId}",
        "GET /v1/sessions/{id}/messages",
        "POST /v1/sessions/{id}/messages",
        "GET /v1/sessions/{id}/contexts",
        "GET /v1/sessions/{id}/contexts/{contextId}",
        "PUT /v1/sessions/{id}/contexts/{contextId}",
      ]),
    );
    // And every /v1 route actually registered, so a new route cannot go undocumented.
    const served = app.routes
      .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(served.length).toBeGreaterThanOrEqual(10);
    for (const route of served) expect(documented).toContain(route);
    const post = reply.body.paths["/v1/sessions/{id}/messages"]?.post as {
      security?: unknown;
      requestBody?: unknown;
    };
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(post.requestBody).toBeDefined();
  });

  it("answers CORS preflights for /v1 without a token, allowing only the configured origins", async () => {
    const app = makeApp({ corsOrigins: ["https://app.example"] });
    const preflight = (origin: string) =>
      call(app, "OPTIONS", "/v1/sessions", {
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const allowed = await preflight("https://app.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "authorization",
    );
    const other = await preflight("https://elsewhere.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // Errors carry the CORS headers too, so a browser can read the error body.
    const refused = await call(app, "POST", "/v1/sessions", {
      json: {},
      headers: { origin: "https://app.example" },
    });
    expectError(refused, 401, "AUTH_REQUIRED");
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  it("serves /docs as an HTML page that loads /openapi.json", async () => {
    const reply = await call(makeApp(), "GET", "/docs");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^text\/html/);
    expect(reply.text).toContain("<!doctype html>");
    expect(reply.text).toContain("/openapi.json");
  });
});

describe("HTTP API: request logs", () => {
  const lines: string[] = [];
  let app: App;

  beforeEach(() => {
    lines.length = 0;
    const logger = createLogger({
      level: "info",
      nodeId: "log-test",
      destination: { write: (line: string) => void lines.push(line) },
    });
    app = makeApp({ logger });
  });

  it("writes one line per request and never the token or message content", async () => {
    const secretContent = `PRIVATE-CONTENT-${randomUUID()}`;
    const secretContext = `PRIVATE-CONTEXT-${randomUUID()}`;
    const requestIds: string[] = [];
    const track = <T>(reply: Reply<T>) => {
      requestIds.push(reply.headers.get("x-request-id") ?? "missing");
      return reply;
    };

    const issued = track(
      await call<{ token: string }>(app, "POST", "/v1/dev/token", {
        json: { sub: "logger-user", kind: "user" },
      }),
    );
    const token = issued.body.token;
    expect(token.length).toBeGreaterThan(20);
    const created = track(await call<Session>(app, "POST", "/v1/sessions", { token, json: {} }));
    const base = `/v1/sessions/${created.body.id}`;
    const sent = track(
      await call(app, "POST", `${base}/messages`, {
        token,
        json: message({ content: secretContent, metadata: { note: secretContent } }),
      }),
    );
    expect(sent.status).toBe(201);
    const read = track(await call(app, "GET", `${base}/messages`, { token }));
    expect(read.text).toContain(secretContent);
    track(
      await call(app, "PUT", `${base}/contexts/c`, {
        token,
        json: { contextData: { secretContext } },
      }),
    );
    // Refused requests are logged too, still without what they carried.
    track(
      await call(app, "POST", `${base}/messages`, {
        token: `${token}x`,
        json: message({ content: secretContent }),
      }),
    );
    track(
      await call(app, "POST", `${base}/messages`, { token, raw: `{"content": "${secretContent}"` }),
    );

    const log = lines.join("");
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split(".")[2]);
    expect(log).not.toContain(secretContent);
    expect(log).not.toContain(secretContext);

    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLines = entries.filter((e) => e.msg === "request");
    expect(requestLines).toHaveLength(requestIds.length);
    expect(requestLines.map((e) => e.requestId)).toEqual(requestIds);
    expect(requestLines.map((e) => e.status)).toEqual([200, 201, 201, 200, 200, 401, 400]);
    expect(requestLines[2]).toMatchObject({
      method: "POST",
      route: "/v1/sessions/:id/messages",
      principal: "logger-user",
      node: "log-test",
    });
  });
});
