/**
 * HTTP rate limits (PROTOCOL.md section 8): per principal for authenticated `/v1` calls, per
 * client address for every `/v1` call, over a real gateway so the socket's address is real.
 * Loopback is 127.0.0.0/8: binding the client to 127.0.0.2 or .3 gives it another address.
 */
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

interface Reply {
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; message: string }; requestId?: string | null } & Record<
    string,
    unknown
  >;
}

function request(
  node: TestGateway,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; from?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const url = new URL(path, node.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        localAddress: options.from ?? "127.0.0.1",
        agent: false,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"] as string | undefined,
            body: text ? JSON.parse(text) : {},
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function expectLimited(replies: Reply[]): void {
  const limited = replies.filter((r) => r.status === 429);
  expect(limited.length).toBeGreaterThan(0);
  for (const r of limited) {
    expect(r.body.error?.code).toBe("RATE_LIMITED");
    expect(typeof r.body.requestId).toBe("string");
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(r.retryAfter))).toBe(true);
  }
}

const nodes: TestGateway[] = [];
async function start(env: Record<string, string>): Promise<TestGateway> {
  const node = await startTestGateway({ env });
  nodes.push(node);
  return node;
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe("per principal", () => {
  it("answers 429 RATE_LIMITED with Retry-After to one principal while another is served", async () => {
    const node = await start({ HTTP_RATE_LIMIT: "5", HTTP_WRITE_RATE_LIMIT: "5" });
    const a = await node.token("reader-a", "user");
    const b = await node.token("reader-b", "user");
    const created = await request(node, "POST", "/v1/sessions", { token: a, body: {} });
    expect(created.status).toBe(201);
    const path = `/v1/sessions/${created.body.id as string}`;
    const started = performance.now();
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => request(node, "GET", path, { token: a })),
    );
    expectLimited(replies);
    // A burst of 10 (one already spent) plus what 5/s refills meanwhile.
    expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(
      10 + Math.ceil(((performance.now() - started) / 1000) * 5),
    );
    const other = await request(node, "POST", "/v1/sessions", { token: b, body: {} });
    expect(other.status).toBe(201);
  });

  it("holds writes to a tighter bucket than reads, and refused writes store nothing", async () => {
    const node = await start({ HTTP_RATE_LIMIT: "1000", HTTP_WRITE_RATE_LIMIT: "3" });
    const token = await node.token("writer", "agent");
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(node, "POST", "/v1/sessions", { token, body: { id: `w-${i}` } }),
      ),
    );
    expectLimited(writes);
    const made = writes.filter((r) => r.status === 201).length;
    const { rows } = await node.db.pool.query<{ n: number }>(
      "select count(*)::int as n from sessions where id like 'w-%'",
    );
    expect(rows[0]?.n).toBe(made);
    // Reads still pass: the write bucket is empty, the call bucket is not.
    const reads = await Promise.all(
      Array.from({ length: 20 }, () => request(node, "GET", "/v1/sessions/w-0", { token })),
    );
    expect(reads.every((r) => r.status !== 429)).toBe(true);
  });
});

describe("per client address", () => {
  it("limits every /v1 call from one address, dev tokens and unauthenticated calls included", async () => {
    const node = await start({ HTTP_IP_RATE_LIMIT: "5", HTTP_IP_WRITE_RATE_LIMIT: "5" });
    const started = performance.now();
    const tokens = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        request(node, "POST", "/v1/dev/token", {
          from: "127.0.0.2",
          body: { sub: `dev-${i}`, kind: "user" },
        }),
      ),
    );
    expectLimited(tokens);
    expect(tokens.filter((r) => r.status === 200).length).toBeLessThanOrEqual(
      10 + Math.ceil(((performance.now() - started) / 1000) * 5),
    );
    const anonymous = await request(node, "GET", "/v1/sessions/x", { from: "127.0.0.2" });
    expect(anonymous.status).toBe(429);
    // Another address is served.
    const elsewhere = await request(node, "POST", "/v1/dev/token", {
      from: "127.0.0.3",
      body: { sub: "dev-x", kind: "user" },
    });
    expect(elsewhere.status).toBe(200);
    // Only /v1 is limited: health checks still answer.
    expect((await request(node, "GET", "/healthz", { from: "127.0.0.2" })).status).toBe(200);
  });

  it("ignores Fly-Client-IP unless TRUST_PROXY=fly, so the header cannot dodge the limit", async () => {
    const node = await start({ HTTP_IP_RATE_LIMIT: "5" });
    const spoofed = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        request(node, "GET", "/v1/sessions/x", {
          from: "127.0.0.2",
          headers: { "fly-client-ip": `203.0.113.${i}` },
        }),
      ),
    );
    expectLimited(spoofed);
  });

  it("keys by Fly-Client-IP behind Fly's proxy (TRUST_PROXY=fly)", async () => {
    const node = await start({ HTTP_IP_RATE_LIMIT: "5", TRUST_PROXY: "fly" });
    const distinct = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        request(node, "GET", "/v1/sessions/x", {
          headers: { "fly-client-ip": `203.0.113.${i}` },
        }),
      ),
    );
    expect(distinct.every((r) => r.status === 401)).toBe(true);
    const same = await Promise.all(
      Array.from({ length: 30 }, () =>
        request(node, "GET", "/v1/sessions/x", { headers: { "fly-client-ip": "198.51.100.7" } }),
      ),
    );
    expectLimited(same);
  });
});
