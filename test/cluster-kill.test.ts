/**
 * A node that dies between commit and broadcast: the message is in the table, no NOTIFY ever
 * left, and the other nodes' sockets must still learn of it (PROTOCOL.md section 5).
 */
import { afterEach, expect, it } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import { type ChildNode, Follower, spawnNode, startNode } from "./helpers/cluster.js";
import { createTestDatabase } from "./helpers/db.js";
import { call, closeAllSockets, connect, waitFor } from "./helpers/gateway.js";

const alice: Principal = { id: "alice", kind: "user" };
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeAllSockets();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

it("tells sockets on the other nodes, within 15 s, of a message whose node was SIGKILLed right after committing it", async () => {
  const db = await createTestDatabase({ max: 5 });
  cleanups.push(() => db.drop());
  // Default positioning interval (5 s): the contract's 15 s must hold as configured.
  const a = await startNode({ db, nodeId: "live-a" });
  cleanups.push(() => a.close());
  const b = await startNode({ db, nodeId: "live-b" });
  cleanups.push(() => b.close());
  const doomed: ChildNode = await spawnNode({
    DATABASE_URL: db.url,
    NODE_ID: "doomed",
    TKR_TEST_KILL_AFTER_COMMIT: "last-words",
  });
  cleanups.push(() => doomed.stop());

  const session = await a.gateway.messaging.createSession(alice, { members: ["bot"] });
  const followers = [
    await Follower.join(a.url, "/clients", await a.token("alice", "user"), session.id),
    await Follower.join(b.url, "/clients", await b.token("alice", "user"), session.id),
    await Follower.join(b.url, "/agents", await b.token("bot", "agent"), session.id),
  ];
  // Tokens are signed with the shared secret, so one from node a works on the child.
  const sender = await connect(doomed.url, "/agents", { token: await a.token("bot", "agent") });
  for (let i = 1; i <= 3; i++) {
    const ack = await call(sender, "message", {
      id: `early-${i}`,
      sessionId: session.id,
      content: `${i}`,
      type: "text",
    });
    expect(ack).toMatchObject({ status: "success", seq: i });
  }
  await waitFor(() => followers.every((f) => f.live === 3), 5_000, "first three live everywhere");

  sender.emit("message", {
    id: "last-words",
    sessionId: session.id,
    content: "committed, never broadcast",
    type: "text",
  });
  expect(await doomed.exited).toEqual({ code: null, signal: "SIGKILL" });
  const killedAt = Date.now();
  const row = await db.pool.query<{ seq: number }>("select seq from messages where id = $1", [
    "last-words",
  ]);
  expect(row.rows).toEqual([{ seq: 4 }]);

  await waitFor(
    () => followers.every((f) => f.holdsExactly(4)),
    killedAt + 15_000 - Date.now(),
    "every socket on the live nodes to hold seq 4",
  );
  for (const follower of followers) {
    expect(follower.live).toBe(3);
    expect(follower.heads.some((seq) => seq >= 4)).toBe(true);
    expect(follower.held.get(4)?.id).toBe("last-words");
  }
});
