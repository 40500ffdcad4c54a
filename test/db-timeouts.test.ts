/**
 * A database path that stays up but passes nothing (a NAT that lost the flow, a hung primary):
 * calls answer UNAVAILABLE within the query timeout, /readyz says 503 within seconds, and both
 * recover once the path works again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import type { Principal } from "../src/messaging/index.js";
import { isUnavailable } from "../src/messaging/index.js";
import { createLogger } from "../src/observability/logger.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { call, closeAllSockets, connect, TEST_SECRET, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";

const alice: Principal = { id: "alice", kind: "user" };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBehindProxy(): Promise<{
  gateway: Gateway;
  proxy: FaultProxy;
  db: TestDatabase;
}> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const proxy = await startProxy(Number(new URL(db.url).port));
  cleanups.push(() => proxy.close());
  const proxied = new URL(db.url);
  proxied.port = String(proxy.port);
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: proxied.toString(),
    AUTH_JWT_SECRET: TEST_SECRET,
    AUTH_DEV_TOKENS: "true",
    LOG_LEVEL: "silent",
    DATABASE_POOL_MAX: "3",
    DATABASE_QUERY_TIMEOUT_MS: "1000",
    SHUTDOWN_TIMEOUT_MS: "3000",
  });
  const gateway = await createGateway({
    config,
    databaseUrl: proxied.toString(),
    // Only the main pool goes through the proxy: the cluster listener is not under test here.
    listenUrl: db.url,
    logger: createLogger({ level: "silent", nodeId: config.nodeId }),
  });
  cleanups.push(() => gateway.close());
  await gateway.listen();
  return { gateway, proxy, db };
}

/** Opens every pool slot so that all of them go through the path about to be muted. */
async function fillPool(gateway: Gateway) {
  const clients = await Promise.all([0, 1, 2].map(() => gateway.database.pool.connect()));
  for (const client of clients) client.release();
}

describe("a silent database path", () => {
  it("answers UNAVAILABLE within the query timeout and /readyz 503 within seconds, then recovers", async () => {
    const { gateway, proxy } = await startBehindProxy();
    const session = await gateway.messaging.createSession(alice, { members: ["bot"] });
    const botToken = await gateway.tokens.sign({ sub: "bot", kind: "agent" });
    const agent = await connect(gateway.url, "/agents", { token: botToken });
    await call(agent, "join_session", { sessionId: session.id });
    await fillPool(gateway);

    // Open connections pass nothing; new ones are refused, so no fresh client escapes the fault.
    proxy.blackhole();
    proxy.refuse();
    const sent = Date.now();
    const ack = await call(
      agent,
      "message",
      { id: "muted-1", sessionId: session.id, content: "x", type: "text" },
      8_000,
    );
    expect(ack).toMatchObject({ status: "error", code: "UNAVAILABLE", retryable: true });
    expect(Date.now() - sent).toBeLessThan(5_000);

    const posted = Date.now();
    const http = await fetch(`${gateway.url}/v1/sessions/${session.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${botToken}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "muted-http", content: "x", type: "text" }),
    });
    expect(http.status).toBe(503);
    expect(await http.json()).toMatchObject({ error: { code: "UNAVAILABLE" } });
    expect(Date.now() - posted).toBeLessThan(5_000);

    const asked = Date.now();
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { database: false } });
    expect(Date.now() - asked).toBeLessThan(4_000);

    proxy.accept();
    await waitFor(
      async () => (await fetch(`${gateway.url}/readyz`)).status === 200,
      10_000,
      "ready again",
    );
    const retried = await call(agent, "message", {
      id: "muted-1",
      sessionId: session.id,
      content: "x",
      type: "text",
    });
    expect(retried).toMatchObject({ status: "success", seq: 1 });
  });

  it("drops a checked-out client whose query timed out instead of handing it out again", async () => {
    const { gateway, proxy } = await startBehindProxy();
    const client = await gateway.database.pool.connect();
    proxy.blackhole();
    await expect(client.query("select 1")).rejects.toThrow(/Query read timeout/);
    client.release();
    expect(gateway.database.pool.totalCount).toBe(0);
    expect(await gateway.database.probe(2_000)).toBe(true);
  });
});

describe("the readiness probe", () => {
  it("answers ready while every pool client is checked out: a busy node is not a dead one", async () => {
    const { gateway } = await startBehindProxy();
    await waitFor(
      async () => (await fetch(`${gateway.url}/readyz`)).status === 200,
      10_000,
      "ready at start",
    );
    const held = await Promise.all([0, 1, 2].map(() => gateway.database.pool.connect()));
    const release = () => {
      for (const client of held.splice(0)) client.release();
    };
    try {
      expect(gateway.database.pool.waitingCount).toBe(0);
      const queued = gateway.database.pool.query("select 1");
      expect(gateway.database.pool.waitingCount).toBe(1);
      const ready = await fetch(`${gateway.url}/readyz`);
      expect(await ready.json()).toMatchObject({ checks: { database: true } });
      expect(ready.status).toBe(200);
      release();
      await queued;
    } finally {
      release();
    }
  });
});

describe("isUnavailable", () => {
  it("counts the client's read timeout and Postgres' statement timeout as unavailable", async () => {
    expect(isUnavailable(new Error("Query read timeout"))).toBe(true);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const client = await db.pool.connect();
    try {
      await client.query("set statement_timeout = 50");
      const err = await client.query("select pg_sleep(1)").catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe("57014");
      expect(isUnavailable(err)).toBe(true);
    } finally {
      client.release();
    }
  });
});
