/**
 * A node that dies without a word (SIGKILL): the survivors stop hearing its presence heartbeat
 * and, after PRESENCE_NODE_TIMEOUT_MS, send `offline` for the principals it held that no other
 * node holds (PROTOCOL.md `presence`).
 */
import { afterEach, expect, it } from "vitest";
import type { PresenceEntry, PresenceEvent } from "../src/protocol/index.js";
import { type ChildNode, spawnNode, startNode } from "./helpers/cluster.js";
import { createTestDatabase } from "./helpers/db.js";
import { call, closeAllSockets, connect, waitFor } from "./helpers/gateway.js";

type JoinAck = { status: "success"; presence: PresenceEntry[] };

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

/** Short, so the test stays fast; the default is 20 s. */
const TIMEOUT_MS = 1_500;

it("sends offline everywhere for the principals of a SIGKILLed node, after the node timeout", async () => {
  const db = await createTestDatabase({ max: 5 });
  cleanups.push(() => db.drop());
  const env = { PRESENCE_NODE_TIMEOUT_MS: String(TIMEOUT_MS) };
  const live = await startNode({ db, nodeId: "presence-live", env });
  cleanups.push(() => live.close());
  const doomed: ChildNode = await spawnNode({
    DATABASE_URL: db.url,
    NODE_ID: "presence-doomed",
    ...env,
  });
  cleanups.push(() => doomed.stop());
  await waitFor(() => live.gateway.realtime.clusterReady(), 10_000, "listener");

  const session = await live.gateway.messaging.createSession(
    { id: "alice", kind: "user" },
    { members: ["bot", "carol"] },
  );
  const alice = await connect(live.url, "/clients", { token: await live.token("alice", "user") });
  const seen: PresenceEvent[] = [];
  alice.on("presence", (event: PresenceEvent) => seen.push(event));
  await call(alice, "join_session", { sessionId: session.id });
  // carol is online through both nodes: she must stay online after the kill.
  const carolHere = await connect(live.url, "/clients", {
    token: await live.token("carol", "user"),
  });
  await call(carolHere, "join_session", { sessionId: session.id });

  const bot = await connect(doomed.url, "/agents", { token: await live.token("bot", "agent") });
  const carolThere = await connect(doomed.url, "/clients", {
    token: await live.token("carol", "user"),
  });
  await call(carolThere, "join_session", { sessionId: session.id });
  await call(bot, "join_session", { sessionId: session.id });
  await waitFor(
    () => seen.some((e) => e.principalId === "bot" && e.state === "online"),
    2_000,
    "bot online on the live node",
  );

  doomed.child.kill("SIGKILL");
  expect(await doomed.exited).toEqual({ code: null, signal: "SIGKILL" });
  const killedAt = Date.now();
  await waitFor(
    () => seen.some((e) => e.principalId === "bot" && e.state === "offline"),
    TIMEOUT_MS * 4,
    "bot offline after the node timeout",
  );
  const tookMs = Date.now() - killedAt;
  // Never before the timeout (the beats stop at once), and well within the contract's 30 s.
  expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS - TIMEOUT_MS / 4 - 100);
  expect(tookMs).toBeLessThan(TIMEOUT_MS * 2);

  const ack = await call<JoinAck>(alice, "join_session", { sessionId: session.id });
  expect(ack.presence.map((p) => p.principalId).sort()).toEqual(["alice", "carol"]);
  expect(seen.filter((e) => e.principalId === "carol").map((e) => e.state)).toEqual(["online"]);
});
