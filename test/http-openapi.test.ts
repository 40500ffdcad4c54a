/**
 * The OpenAPI document and the app's routes come from one declaration each: every route the app
 * registers is documented and every documented route is registered, in every configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTokenVerifier } from "../src/auth/tokens.js";
import { createHttpApp, type HttpAppDeps } from "../src/http/app.js";
import { createMessaging, type Messaging } from "../src/messaging/index.js";
import { createLogger } from "../src/observability/logger.js";
import {
  MAX_CONTEXT_TARGETS,
  MAX_CONTEXT_TTL_SECONDS,
  MAX_PAGE_LIMIT,
  MessageBody,
  maxBodyBytes,
} from "../src/protocol/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

let tdb: TestDatabase;
let messaging: Messaging;

beforeAll(async () => {
  tdb = await createTestDatabase({ max: 2 });
  messaging = createMessaging({ db: tdb.db, maxContentBytes: 65_536 });
});
afterAll(async () => {
  await tdb?.drop();
});

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> };

function makeApp(overrides: Partial<HttpAppDeps>) {
  return createHttpApp({
    messaging,
    tokens: createTokenVerifier({ secret: "x".repeat(40) }),
    logger: createLogger({ level: "silent", nodeId: "test" }),
    devTokens: true,
    maxBodyBytes: maxBodyBytes(65_536),
    ...overrides,
  });
}

async function documentOf(app: ReturnType<typeof makeApp>): Promise<Doc> {
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

const configurations: Array<[string, Partial<HttpAppDeps>]> = [
  ["defaults", {}],
  ["dev tokens off, metrics on their own port", { devTokens: false, serveMetrics: false }],
];

describe("OpenAPI document", () => {
  for (const [name, overrides] of configurations) {
    it(`documents exactly the routes the app registers (${name})`, async () => {
      const app = makeApp(overrides);
      const doc = await documentOf(app);
      const documented = Object.entries(doc.paths)
        .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      // Middleware is registered for method ALL; everything else is a route.
      const registered = [
        ...new Set(
          app.routes
            .filter((r) => r.method !== "ALL")
            .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
        ),
      ].sort();
      expect(registered.length).toBeGreaterThanOrEqual(12);
      expect(documented).toEqual(registered);
    });
  }

  it("takes request schemas from the schemas that validate the requests", async () => {
    const doc = await documentOf(makeApp({}));
    const send = doc.paths["/v1/sessions/{id}/messages"]?.post as {
      requestBody: { content: { "application/json": { schema: unknown } } };
    };
    expect(send.requestBody.content["application/json"].schema).toEqual(
      z.toJSONSchema(MessageBody, { io: "input", unrepresentable: "any" }),
    );
    const read = doc.paths["/v1/sessions/{id}/messages"]?.get as {
      parameters: Array<{ name: string; in: string; schema: { maximum?: number } }>;
    };
    expect(read.parameters.map((p) => `${p.in} ${p.name}`)).toEqual([
      "path id",
      "query afterSeq",
      "query beforeSeq",
      "query limit",
    ]);
    expect(read.parameters.find((p) => p.name === "limit")?.schema.maximum).toBe(MAX_PAGE_LIMIT);
  });

  it("documents message visibility and a context's targets and ttlSeconds with their bounds", async () => {
    const doc = await documentOf(makeApp({}));
    type Body = { requestBody: { content: { "application/json": { schema: Schema } } } };
    type Schema = {
      properties: Record<string, { enum?: string[]; maximum?: number; maxItems?: number }>;
    };
    const body = (path: string, method: string) => {
      const operation = doc.paths[path]?.[method] as unknown as Body;
      return operation.requestBody.content["application/json"].schema.properties;
    };
    expect(body("/v1/sessions/{id}/messages", "post").visibility?.enum).toEqual([
      "session",
      "direct",
    ]);
    const put = body("/v1/sessions/{id}/contexts/{contextId}", "put");
    expect(put.ttlSeconds?.maximum).toBe(MAX_CONTEXT_TTL_SECONDS);
    expect(put.targets?.maxItems).toBe(MAX_CONTEXT_TARGETS);
  });

  it("documents 429 and 503 on every /v1 route and 503 on /readyz", async () => {
    const doc = await documentOf(makeApp({}));
    for (const [p, methods] of Object.entries(doc.paths)) {
      if (!p.startsWith("/v1/")) continue;
      for (const operation of Object.values(methods)) {
        const responses = operation.responses as Record<string, unknown>;
        expect(Object.keys(responses), p).toEqual(expect.arrayContaining(["429", "503"]));
      }
    }
    const ready = doc.paths["/readyz"]?.get?.responses as Record<string, unknown>;
    expect(Object.keys(ready)).toEqual(expect.arrayContaining(["200", "503"]));
  });
});
