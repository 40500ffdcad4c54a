/**
 * Cluster faults on real parts: several nodes on one database, their LISTEN connections killed
 * over and over, the database cut away from one node, a listener that silently stops passing
 * bytes. Receivers are sockets that follow the delivery contract (PROTOCOL.md section 5).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import {
  type ClusterNode,
  countFanoutNotifies,
  Follower,
  listenerBackends,
  startNode,
  stream,
  terminateListeners,
  viaPort,
} from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { closeAllSockets, connect, waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";

const alice: Principal = { id: "alice", kind: "user" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase({ max: 5 });
  cleanups.push(() => db.drop());
  return db;
}

async function node(options: Parameters<typeof startNode>[0]): Promise<ClusterNode> {
  const started = await startNode(options);
  cleanups.push(() => started.close());
  return started;
}

async function proxyFor(db: TestDatabase): Promise<FaultProxy> {
  const proxy = await startProxy(Number(new URL(db.url).port));
  cleanups.push(() => proxy.close());
  return proxy;
}

async function tableSeqs(db: TestDatabase, sessionId: string) {
  const result = await db.pool.query<{ seq: number; id: string }>(
    "select seq, id from messages where session_id = $1 order by seq",
    [sessionId],
  );
  return result.rows;
}

async function readyStatus(n: ClusterNode): Promise<number> {
  return (await fetch(`${n.url}/readyz`)).status;
}

async function listenerGauge(n: ClusterNode): Promise<string | undefined> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  return text.match(/^tkr_cluster_listener_up\{[^}]*\} (\d+)/m)?.[1];
}

describe("cluster faults", () => {
  it("delivers 2,000 messages from 2 senders to every socket on 3 nodes while every LISTEN connection is terminated 20 times, with bounded pools", async () => {
    const db = await database();
    const nodes = [
      await node({ db, nodeId: "kill-a" }),
      await node({ db, nodeId: "kill-b" }),
      await node({ db, nodeId: "kill-c" }),
    ];
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    await waitFor(() => nodes.every((n) => n.gateway.realtime.clusterReady()), 10_000, "listeners");
    const rows = await listenerBackends(db.pool, db.name);
    // One LISTEN connection per node, named after it, its last statement a LISTEN.
    expect(rows.map((r) => r.application_name).sort()).toEqual([
      "tkr-cluster:kill-a",
      "tkr-cluster:kill-b",
      "tkr-cluster:kill-c",
    ]);
    expect(rows.every((r) => /^LISTEN "socket\.io#\//.test(r.query))).toBe(true);

    const session = await a.gateway.messaging.createSession(alice, {
      members: ["sender-0", "sender-1", "bot"],
    });
    const followers = [
      await Follower.join(a.url, "/clients", await a.token("alice", "user"), session.id),
      await Follower.join(b.url, "/clients", await b.token("alice", "user"), session.id),
      await Follower.join(c.url, "/clients", await c.token("alice", "user"), session.id),
      await Follower.join(c.url, "/agents", await c.token("bot", "agent"), session.id),
    ];
    const senders = [
      await connect(a.url, "/agents", { token: await a.token("sender-0", "agent") }),
      await connect(b.url, "/agents", { token: await b.token("sender-1", "agent") }),
    ];

    const notifies = nodes.map((n) => countFanoutNotifies(n.gateway.realtime.cluster.pool));
    const maxPool = new Map(nodes.map((n) => [n.nodeId, 0]));
    const samplePools = () => {
      for (const n of nodes) {
        const total = n.gateway.realtime.cluster.pool.totalCount;
        maxPool.set(n.nodeId, Math.max(maxPool.get(n.nodeId) ?? 0, total));
      }
    };
    // 20 rounds; each waits for a LISTEN connection to be back (the adapter reconnects after
    // 1–3 s) and then terminates every one there is.
    let terminated = 0;
    let killsEndedAt = 0;
    const kills = (async () => {
      for (let round = 0; round < 20; round++) {
        await waitFor(
          async () => (await listenerBackends(db.pool, db.name)).length > 0,
          10_000,
          "a LISTEN connection to kill",
        );
        terminated += await terminateListeners(db.pool, db.name);
        samplePools();
      }
      killsEndedAt = Date.now();
    })();
    const results = await Promise.all(
      senders.map((socket, i) =>
        stream(socket, {
          sessionId: session.id,
          prefix: `s${i}`,
          count: 1_000,
          periodMs: 14,
          window: 8,
        }),
      ),
    );
    await kills;
    const lastSend = Math.max(...results.map((r) => r.lastAckAt));
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    expect(results.reduce((n, r) => n + r.acked.size, 0)).toBe(2_000);
    expect(terminated).toBeGreaterThanOrEqual(20);

    const table = await tableSeqs(db, session.id);
    expect(table.map((r) => r.seq)).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    await waitFor(
      () => followers.every((f) => f.holdsExactly(2_000)),
      Math.max(0, lastSend + 15_000 - Date.now()),
      "every follower to hold 1..2000 within 15 s of the last send",
    );
    for (const follower of followers) {
      for (const row of table) expect(follower.held.get(row.seq)?.id).toBe(row.id);
    }

    // Every node came back by itself, its pool no larger than its limit, nothing waiting.
    await waitFor(() => nodes.every((n) => n.gateway.realtime.clusterReady()), 10_000, "relisten");
    samplePools();
    for (const n of nodes) {
      const pool = n.gateway.realtime.cluster.pool;
      expect(maxPool.get(n.nodeId)).toBeLessThanOrEqual(6);
      expect(pool.waitingCount).toBe(0);
      // Only the listener is checked out: no dead or stray LISTEN client holds a slot.
      await waitFor(() => pool.totalCount - pool.idleCount === 1, 5_000, "one client in use");
      expect(await readyStatus(n)).toBe(200);
      expect(await listenerGauge(n)).toBe("1");
    }
    expect((await listenerBackends(db.pool, db.name)).length).toBe(3);
    console.info(
      `LISTEN kills: ${terminated} connections in 20 rounds, the last ${lastSend - killsEndedAt} ms before the last send; live duplicates: ${followers
        .map((f) => f.liveDuplicates)
        .join("/")}; syncs: ${followers.map((f) => f.syncs).join("/")}; pool max: ${[
        ...maxPool.values(),
      ].join("/")}; fan-out NOTIFYs: ${notifies.reduce((n, c) => n + c.count, 0)}`,
    );
  });

  it("answers UNAVAILABLE while a node's database is cut for 5 s, loses nothing acknowledged, and recovers by itself", async () => {
    const db = await database();
    const proxy = await proxyFor(db);
    const proxied = viaPort(db.url, proxy.port);
    const env = { DATABASE_POOL_MAX: "4" };
    const a = await node({ db, nodeId: "cut-a", env });
    const p = await node({ db, nodeId: "cut-p", databaseUrl: proxied, env });
    await waitFor(
      () => a.gateway.realtime.clusterReady() && p.gateway.realtime.clusterReady(),
      10_000,
      "listeners",
    );
    const session = await a.gateway.messaging.createSession(alice, {
      members: ["sender-a", "sender-p", "bot"],
    });
    const followers = [
      await Follower.join(a.url, "/clients", await a.token("alice", "user"), session.id),
      await Follower.join(a.url, "/agents", await a.token("bot", "agent"), session.id),
      await Follower.join(p.url, "/clients", await p.token("alice", "user"), session.id),
    ];
    const onP = await connect(p.url, "/agents", { token: await p.token("sender-p", "agent") });
    const onA = await connect(a.url, "/agents", { token: await a.token("sender-a", "agent") });

    const readyDuringCut: number[] = [];
    const cut = (async () => {
      await sleep(1_000);
      proxy.refuse(5_000);
      proxy.cut();
      await sleep(1_500);
      readyDuringCut.push(await readyStatus(p));
    })();
    const options = { sessionId: session.id, count: 400, periodMs: 20, window: 4 };
    const [fromP, fromA] = await Promise.all([
      stream(onP, { ...options, prefix: "p" }),
      stream(onA, { ...options, prefix: "a" }),
    ]);
    await cut;
    const lastSend = Math.max(fromP.lastAckAt, fromA.lastAckAt);

    expect(fromP.retryable.get("UNAVAILABLE") ?? 0).toBeGreaterThan(0);
    expect(readyDuringCut).toEqual([503]);
    expect([...fromP.failed, ...fromA.failed]).toEqual([]);
    const table = await tableSeqs(db, session.id);
    const stored = new Map(table.map((r) => [r.id, r.seq]));
    for (const [id, seq] of [...fromP.acked, ...fromA.acked]) expect(stored.get(id)).toBe(seq);
    expect(table.length).toBe(800);
    expect(table.map((r) => r.seq)).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));

    await waitFor(
      () => followers.every((f) => f.holdsExactly(800)),
      Math.max(0, lastSend + 15_000 - Date.now()),
      "every follower to hold 1..800 within 15 s of the last send",
    );
    await waitFor(async () => (await readyStatus(p)) === 200, 10_000, "node p ready again");
    expect(p.gateway.realtime.cluster.pool.totalCount).toBeLessThanOrEqual(6);
    expect(await listenerGauge(p)).toBe("1");
  });

  it("replaces a LISTEN connection that silently stops passing bytes, so live delivery resumes", async () => {
    const db = await database();
    const proxy = await proxyFor(db);
    const env = { CLUSTER_HEAD_INTERVAL_MS: "1000" };
    const a = await node({ db, nodeId: "mute-a", env });
    const p = await node({ db, nodeId: "mute-p", listenUrl: viaPort(db.url, proxy.port), env });
    await waitFor(
      () => a.gateway.realtime.clusterReady() && p.gateway.realtime.clusterReady(),
      10_000,
      "listeners",
    );
    const session = await a.gateway.messaging.createSession(alice, { members: [] });
    const follower = await Follower.join(
      p.url,
      "/clients",
      await p.token("alice", "user"),
      session.id,
    );
    const send = (id: string) =>
      a.gateway.messaging.sendMessage(alice, {
        id,
        sessionId: session.id,
        content: id,
        type: "text",
      });
    await send("before");
    await waitFor(() => follower.live === 1, 5_000, "first message live");

    let sawDown = false;
    const watch = setInterval(() => {
      if (!p.gateway.realtime.clusterReady()) sawDown = true;
    }, 50);
    cleanups.push(async () => clearInterval(watch));
    proxy.blackhole();
    await sleep(200);
    // Nothing reaches node p's listener now, but nothing tells it so either.
    await send("muted");
    await waitFor(() => sawDown, 10_000, "node p to notice its listener is dead");
    await waitFor(() => p.gateway.realtime.clusterReady(), 10_000, "a new listener");
    const liveBefore = follower.live;
    await send("after");
    await waitFor(() => follower.live > liveBefore, 5_000, "live delivery again");
    await waitFor(() => follower.holdsExactly(3), 5_000, "all three held");
    expect([...follower.held.values()].map((m) => m.id)).toEqual(["before", "muted", "after"]);
  });
});
