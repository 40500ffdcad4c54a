/**
 * Static files on a node: the web UI's build with immutable caching for hashed assets, the SPA
 * fallback only for the web UI's own routes, Swagger UI's assets, and the security headers.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

const INDEX = "<!doctype html><title>ui</title>";
let webRoot: string;
let node: TestGateway;

beforeAll(async () => {
  webRoot = await mkdtemp(path.join(os.tmpdir(), "tkr-web-static-"));
  await mkdir(path.join(webRoot, "assets"));
  await writeFile(path.join(webRoot, "index.html"), INDEX);
  await writeFile(path.join(webRoot, "assets", "app-1a2b.js"), "console.log(1);");
  await writeFile(path.join(webRoot, "favicon.svg"), "<svg/>");
  node = await startTestGateway({ webRoot });
});

afterAll(async () => {
  await node?.close();
  if (webRoot) await rm(webRoot, { recursive: true, force: true });
});

const get = (p: string) => fetch(`${node.url}${p}`);

describe("static files", () => {
  it("serves hashed assets with immutable caching and their content type", async () => {
    const res = await get("/assets/app-1a2b.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toBe("console.log(1);");
  });

  it("serves other files without immutable caching", async () => {
    const res = await get("/favicon.svg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get("cache-control")).toBeNull();
  });

  it("serves index.html at / and for the web UI's own routes, with the CSP", async () => {
    for (const p of ["/", "/sessions/abc", "/settings"]) {
      const res = await get(p);
      expect({ p, status: res.status }).toEqual({ p, status: 200 });
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBeNull();
      expect(await res.text()).toBe(INDEX);
    }
  });

  it("never marks the fallback index.html immutable, even for a missing hashed asset", async () => {
    const res = await get("/assets/gone-9z9z.js");
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBeNull();
  });

  it("serves Swagger UI's assets under /docs/assets", async () => {
    const res = await get("/docs/assets/swagger-ui.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/css/);
  });

  it("answers 404 JSON, not index.html, under /docs, /metrics and /openapi.json", async () => {
    for (const p of ["/docs/x", "/docs/assets/none.css", "/metrics/x", "/openapi.json/x"]) {
      const res = await get(p);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
    }
  });

  it("does not serve files outside the folder", async () => {
    const res = await get("/assets/..%2f..%2fetc%2fpasswd");
    expect(await res.text()).not.toContain("root:");
  });
});
