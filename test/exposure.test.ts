/**
 * What the public port shows: metrics only where configured, and security headers on HTML.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sharedGateway } from "./helpers/fixture.js";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

// The default configuration, shared by the tests that only read from it.
const plain = sharedGateway();

const nodes: TestGateway[] = [];
async function start(env: Record<string, string>) {
  const node = await startTestGateway({ env });
  nodes.push(node);
  return node;
}
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.close();
});

describe("metrics", () => {
  it("are served on METRICS_PORT only when it is set", async () => {
    const node = await start({ METRICS_PORT: "0" });
    expect((await fetch(`${node.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${node.url}/metrics/socket`)).status).toBe(404);
    const metricsUrl = node.gateway.metricsUrl as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const scraped = await fetch(`${metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("tkr_");
    const socket = await fetch(`${metricsUrl}/metrics/socket`);
    expect(await socket.json()).toHaveProperty("errors");
    expect((await fetch(`${metricsUrl}/v1/sessions`)).status).toBe(404);
  });

  it("are never served on the public port in production", async () => {
    const node = await start({ NODE_ENV: "production", AUTH_DEV_TOKENS: "false" });
    expect((await fetch(`${node.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${node.url}/metrics/socket`)).status).toBe(404);
    expect(node.gateway.metricsUrl).toBeUndefined();
  });

  it("stay on the public port in development when METRICS_PORT is unset", async () => {
    expect((await fetch(`${plain.url}/metrics`)).status).toBe(200);
  });
});

describe("security headers", () => {
  it("put a CSP, nosniff, frame denial and a referrer policy on /docs", async () => {
    const res = await fetch(`${plain.url}/docs`);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("send nosniff on API answers too", async () => {
    const res = await fetch(`${plain.url}/v1/sessions/x`);
    expect(res.status).toBe(401);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
