/**
 * Only the web UI's own routes answer HTML: unknown paths under the API, metrics, docs and the
 * OpenAPI document answer 404 with the usual error body.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

let webRoot: string;
let node: TestGateway;
let token: string;

beforeAll(async () => {
  webRoot = await mkdtemp(path.join(os.tmpdir(), "tkr-web-404-"));
  await writeFile(path.join(webRoot, "index.html"), "<!doctype html><title>ui</title>");
  node = await startTestGateway({ webRoot });
  token = await node.token("alice", "user");
});

afterAll(async () => {
  await node?.close();
  await rm(webRoot, { recursive: true, force: true });
});

describe("unknown paths", () => {
  const paths = [
    "/v1/nope",
    "/v1",
    "/v1/sessions/x/nope",
    "/metrics/nope",
    "/metricsx",
    "/docs/nope",
    "/docs/assets/nope.js",
    "/openapi.json/x",
  ];
  for (const p of paths) {
    it(`GET ${p} answers 404 NOT_FOUND as JSON`, async () => {
      const res = await fetch(`${node.url}${p}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    });
  }

  it("GET /v1/nope without a token answers JSON, not the UI", async () => {
    const res = await fetch(`${node.url}/v1/nope`);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("the web UI's own routes still answer its HTML", async () => {
    for (const p of ["/", "/some/client/route"]) {
      const res = await fetch(`${node.url}${p}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("<title>ui</title>");
    }
  });
});
