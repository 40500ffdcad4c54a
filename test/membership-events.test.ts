/**
 * Live membership (PROTOCOL.md section 5): `session:added` / `session:removed` to the principal's
 * own sockets on every node, `member:added` / `member:removed` to the session's room, and an SDK
 * agent that joins a session it is added to without reconnecting. Two gateways on one database.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it, onTestFinished } from "vitest";
import type { Principal } from "../src/messaging/index.js";
import type { Session, StoredMessage } from "../src/protocol/index.js";
import { connectAgent } from "../src/sdk/index.js";
import { httpAs, sharedGateway } from "./helpers/fixture.js";
import { call, connect, type TestGateway, waitFor } from "./helpers/gateway.js";
import { FAST } from "./sdk-fixtures.js";

const alice: Principal = { id: "alice", kind: "user" };
const a = sharedGateway({ nodeId: "node-a", sockets: "per-file" });
const b = sharedGateway({ nodeId: "node-b", sockets: "per-file", joins: a });

function next<T>(socket: Socket, event: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5_000);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const http = async (node: TestGateway, method: string, path: string, body?: unknown) =>
  (await httpAs(node, "alice", "user", method, path, body)).status;

describe("live membership", () => {
  it("tells the added principal's sockets on another node, and the session's room, both ways", async () => {
    const session = await a.gateway.messaging.createSession(alice, { title: "team" });
    const aliceOnA = await connect(a.url, "/clients", { token: await a.token("alice", "user") });
    await call(aliceOnA, "join_session", { sessionId: session.id });
    // bob's socket on the other node, in no session yet.
    const bobOnB = await connect(b.url, "/clients", { token: await b.token("bob", "user") });

    const added = next<{ session: Session }>(bobOnB, "session:added");
    const memberAdded = next<Record<string, unknown>>(aliceOnA, "member:added");
    expect(
      await http(a, "POST", `/v1/sessions/${session.id}/members`, { principalId: "bob" }),
    ).toBe(201);
    expect(await added).toEqual({
      session: {
        id: session.id,
        title: "team",
        members: ["alice", "bob"],
        headSeq: 0,
        memberDetails: [
          { principalId: "alice", kind: "user", name: "alice" },
          { principalId: "bob", kind: "user", name: "bob" },
        ],
      },
    });
    expect(await memberAdded).toEqual({
      sessionId: session.id,
      principalId: "bob",
      kind: "user",
      name: "bob",
    });

    // bob joins on the strength of the event, then is removed.
    expect(await call(bobOnB, "join_session", { sessionId: session.id })).toMatchObject({
      status: "success",
    });
    const removed = next<{ sessionId: string }>(bobOnB, "session:removed");
    const memberRemoved = next<Record<string, unknown>>(aliceOnA, "member:removed");
    expect(await http(a, "DELETE", `/v1/sessions/${session.id}/members/bob`)).toBe(204);
    expect(await removed).toEqual({ sessionId: session.id });
    expect(await memberRemoved).toEqual({
      sessionId: session.id,
      principalId: "bob",
      kind: "user",
      name: "bob",
    });
  });

  it("an agent added while connected handles the session's next message without reconnecting", async () => {
    const session = await a.gateway.messaging.createSession(alice, {});
    const handled: StoredMessage[] = [];
    const agent = await connectAgent({
      ...FAST,
      url: b.url,
      token: await b.token("latecomer", "agent"),
      onMessage: (message) => {
        handled.push(message);
      },
    });
    onTestFinished(() => agent.close());
    const statuses: string[] = [];
    agent.client.on("status", (status) => statuses.push(status));

    const joined = new Promise<void>((resolve) => {
      agent.client.on("sessionAdded", ({ session: s }: { session: Session }) => {
        if (s.id === session.id) resolve();
      });
    });
    await a.gateway.messaging.addMember(alice, session.id, "latecomer");
    await joined;
    // Sent at once, racing the agent's own join: the join starts from the head the event named.
    await a.gateway.messaging.sendMessage(alice, {
      id: "late-1",
      sessionId: session.id,
      content: "welcome",
      type: "text",
    });
    await waitFor(() => handled.length === 1, 5_000, "the message handled");
    expect(handled[0]).toMatchObject({ id: "late-1", content: "welcome" });
    // Connected when connectAgent resolved, and never reconnected since.
    expect(statuses).toEqual([]);
  });

  it("tells the principals a new session invites (on another node), and not its creator", async () => {
    const carolOnB = await connect(b.url, "/clients", { token: await b.token("carol", "user") });
    const aliceOnB = await connect(b.url, "/clients", { token: await b.token("alice", "user") });
    const aliceSaw: unknown[] = [];
    aliceOnB.on("session:added", (event: unknown) => aliceSaw.push(event));
    const added = next<{ session: Session }>(carolOnB, "session:added");
    const res = await fetch(`${a.url}/v1/sessions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await a.token("alice", "user")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ title: "invited", members: ["carol"] }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Session;
    expect((await added).session).toMatchObject({
      id: created.id,
      title: "invited",
      members: ["alice", "carol"],
      headSeq: 0,
    });
    // Sentinel: alice's socket has everything sent to it before its ping's answer.
    await call(aliceOnB, "ping", {});
    await call(carolOnB, "ping", {});
    expect(aliceSaw).toEqual([]);
  });
});
