/**
 * The HTTP side of "bad input is the client's error": values Postgres would refuse, JSON nested
 * past the documented depth and malformed percent-escapes in a path answer 400 INVALID_PAYLOAD
 * with the usual error body, on a gateway node (static files included) and on the serverless app.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../src/protocol/index.js";
import { createServerlessApp, type ServerlessApp } from "../src/serverless/index.js";
import { startTestGateway, TEST_SECRET, type TestGateway } from "./helpers/gateway.js";

let node: TestGateway;
let fn: ServerlessApp;
let token: string;

beforeAll(async () => {
  node = await startTestGateway();
  fn = createServerlessApp({
    DATABASE_URL: node.db.url,
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ID: "function",
  });
  token = await node.token("alice", "user");
});
afterAll(async () => {
  await fn.close();
  await node.close();
});

type Target = "node" | "serverless";

async function request(
  target: Target,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: unknown }> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
  };
  const res =
    target === "node"
      ? await fetch(`${node.url}${path}`, init)
      : await fn.fetch(new Request(`http://function.test${path}`, init));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

const invalid = {
  status: 400,
  body: {
    error: { code: "INVALID_PAYLOAD", message: expect.any(String) },
    requestId: expect.any(String),
  },
};

async function counts(): Promise<string> {
  const r = await node.db.pool.query<{ n: string }>(
    "select (select count(*) from sessions) || '/' || (select count(*) from messages) || '/' || (select count(*) from contexts) as n",
  );
  return r.rows[0]?.n ?? "";
}

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const deepArrayJson = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

describe.each<Target>(["node", "serverless"])("bad input over HTTP (%s)", (target) => {
  let sessionId: string;
  beforeAll(async () => {
    const created = await request(target, "POST", "/v1/sessions", "{}");
    expect(created.status).toBe(201);
    sessionId = (created.body as { id: string }).id;
  });

  const message = (fields: Record<string, unknown>) =>
    JSON.stringify({ id: `m-${Math.random().toString(36).slice(2)}`, type: "text", ...fields });

  it("refuses NUL and lone surrogates in content, metadata and a session title, storing nothing", async () => {
    const before = await counts();
    const bodies = [
      message({ content: "a\u0000b" }),
      message({ content: "a\uD800b" }),
      message({ content: "x", metadata: { n: "\u0000" } }),
      message({ content: "x", metadata: { "\u0000": 1 } }),
      message({ content: "x", metadata: { s: "\uDC00" } }),
    ];
    for (const body of bodies) {
      expect(await request(target, "POST", `/v1/sessions/${sessionId}/messages`, body)).toEqual(
        invalid,
      );
    }
    expect(
      await request(target, "POST", "/v1/sessions", JSON.stringify({ title: "t\u0000" })),
    ).toEqual(invalid);
    expect(
      await request(target, "POST", "/v1/sessions", JSON.stringify({ title: "t\uD800" })),
    ).toEqual(invalid);
    expect(await counts()).toBe(before);
  });

  it("refuses expectedVersion >= 2^31 and contextData with NUL", async () => {
    const path = `/v1/sessions/${sessionId}/contexts/plan`;
    expect(
      await request(
        target,
        "PUT",
        path,
        JSON.stringify({ contextData: {}, expectedVersion: 2 ** 31 }),
      ),
    ).toEqual(invalid);
    expect(
      await request(target, "PUT", path, JSON.stringify({ contextData: { "k\u0000": 1 } })),
    ).toEqual(invalid);
    expect(
      await request(target, "GET", `/v1/sessions/${sessionId}/messages?afterSeq=1e300`),
    ).toEqual(invalid);
    expect(
      await request(
        target,
        "GET",
        `/v1/sessions/${sessionId}/messages?afterSeq=99999999999999999999`,
      ),
    ).toEqual(invalid);
  });

  it(`refuses JSON nested past ${MAX_JSON_DEPTH} levels, 100,000 levels included, and keeps serving`, async () => {
    const before = await counts();
    const messages = `/v1/sessions/${sessionId}/messages`;
    const ok = await request(
      target,
      "POST",
      messages,
      message({ content: "x", metadata: nested(MAX_JSON_DEPTH) }),
    );
    expect(ok.status).toBe(201);
    const after = await counts();
    for (const body of [
      message({ content: "x", metadata: nested(MAX_JSON_DEPTH + 1) }),
      `{"id":"deep-5k","type":"text","content":"x","metadata":{"a":${deepArrayJson(5_000)}}}`,
      `{"id":"deep-60k","type":"text","content":"x","metadata":{"a":${deepArrayJson(60_000)}}}`,
      deepArrayJson(60_000),
      "[".repeat(100_000),
    ]) {
      expect(await request(target, "POST", messages, body)).toEqual(invalid);
    }
    expect(
      await request(
        target,
        "PUT",
        `/v1/sessions/${sessionId}/contexts/deep`,
        `{"contextData":{"a":${deepArrayJson(60_000)}}}`,
      ),
    ).toEqual(invalid);
    expect(await counts()).toBe(after);
    expect(after).not.toBe(before);
    expect((await request(target, "GET", "/healthz")).status).toBe(200);
  });

  it("answers malformed percent-escapes in API paths and unrouted paths with 400", async () => {
    for (const path of [
      "/%E0%A4%A",
      "/nothing/here%",
      "/v1/sessions/%ZZ/messages",
      "/v1/sessions/%E0%A4%A",
      `/v1/sessions/${sessionId}/contexts/%`,
      `/v1/sessions/${sessionId}/members/%C3%28`,
    ]) {
      const method = path.includes("/members/") ? "DELETE" : "GET";
      expect({ path, ...(await request(target, method, path)) }).toEqual({ path, ...invalid });
    }
  });
});

describe("malformed percent-escapes on a node's static paths", () => {
  it("answer 400 INVALID_PAYLOAD with the JSON error body, never 500", async () => {
    for (const path of ["/%E0%A4%A", "/docs/assets/%", "/assets/%ZZ.js", "/%"]) {
      expect({ path, ...(await request("node", "GET", path)) }).toEqual({ path, ...invalid });
    }
  });
});
