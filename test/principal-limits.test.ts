/**
 * Limits per principal on the socket surface (PROTOCOL.md section 4 and section 2): a principal's
 * sockets on one node share event and message buckets, and their number is capped.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect } from "./helpers/gateway.js";

type Ack = { status: string; code?: string; retryable?: boolean };

const node = sharedGateway({
  env: {
    SOCKET_RATE_LIMIT: "10000",
    PRINCIPAL_RATE_LIMIT: "30",
    PRINCIPAL_MSG_RATE_LIMIT: "10",
    PRINCIPAL_SOCKET_LIMIT: "4",
  },
  sockets: "per-file",
});

let counter = 0;
async function newSession(members: string[]) {
  counter++;
  return node.gateway.messaging.createSession(
    { id: members[0] as string, kind: "agent" },
    { id: `limits-${counter}`, members },
  );
}

async function sockets(sub: string, kind: "agent" | "user", n: number): Promise<Socket[]> {
  const token = await node.token(sub, kind);
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await connect(node.url, kind === "agent" ? "/agents" : "/clients", { token }));
  }
  return out;
}

function send(socket: Socket, sessionId: string, id: string): Promise<Ack> {
  return call<Ack>(socket, "message", { id, sessionId, content: "x", type: "text" }, 10_000);
}

async function connectError(sub: string, kind: "agent" | "user"): Promise<unknown> {
  const token = await node.token(sub, kind);
  return connect(node.url, kind === "agent" ? "/agents" : "/clients", { token }).then(
    () => {
      throw new Error("the handshake was accepted");
    },
    (err: { data?: unknown }) => err.data,
  );
}

describe("messages and events per principal", () => {
  it("limits one principal's sockets in aggregate while another principal's acks keep flowing", async () => {
    const session = await newSession(["flood", "calm"]);
    const flooders = await sockets("flood", "agent", 4);
    const [calm] = await sockets("calm", "user", 1);
    const started = performance.now();
    // 4 sockets × 15 messages: each socket alone is far below its own limit.
    const acks = await Promise.all(
      flooders.flatMap((s, k) =>
        Array.from({ length: 15 }, (_, i) => send(s, session.id, `flood-${k}-${i}`)),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const ok = acks.filter((a) => a.status === "success").length;
    const limited = acks.filter((a) => a.code === "RATE_LIMITED");
    expect(ok + limited.length).toBe(60);
    // Burst of 20 plus what 10/s refills meanwhile.
    expect(ok).toBeLessThanOrEqual(20 + Math.ceil(seconds * 10) + 1);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((a) => a.retryable === true)).toBe(true);
    // Refused messages were not stored.
    const head = await node.gateway.messaging.getSession({ id: "calm", kind: "user" }, session.id);
    expect(head.headSeq).toBe(ok);
    // The other principal's own bucket is untouched.
    const calmAcks = await Promise.all(
      Array.from({ length: 5 }, (_, i) => send(calm as Socket, session.id, `calm-${i}`)),
    );
    expect(calmAcks.map((a) => a.status)).toEqual(Array(5).fill("success"));
  });

  it("limits cheap events per principal across its sockets, apart from messages", async () => {
    const pingers = await sockets("pinger", "user", 3);
    const acks = await Promise.all(
      pingers.flatMap((s) => Array.from({ length: 40 }, () => call<Ack>(s, "ping", null))),
    );
    const limited = acks.filter((a) => a.code === "RATE_LIMITED");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((a) => a.retryable === true)).toBe(true);
    const ok = acks.filter((a) => a.status === "success").length;
    // Events burst is 60: pings are not held to the message bucket (burst 20).
    expect(ok).toBeGreaterThanOrEqual(60);
  });
});

describe("refusals are paced", () => {
  it("answers a refusal once the bucket would pass again, so a client resending at once is held to the rate", async () => {
    const session = await newSession(["eager"]);
    const [socket] = await sockets("eager", "agent", 1);
    const end = performance.now() + 1_000;
    let roundTrips = 0;
    let refused = 0;
    let slowestRefusalMs = 0;
    while (performance.now() < end) {
      const started = performance.now();
      const ack = await send(socket as Socket, session.id, `eager-${roundTrips++}`);
      if (ack.code === "RATE_LIMITED") {
        refused++;
        slowestRefusalMs = Math.max(slowestRefusalMs, performance.now() - started);
      }
    }
    expect(refused).toBeGreaterThan(0);
    // 10 messages/s: each refusal waits for the next token (~100 ms) rather than coming back
    // within a millisecond, so the 20-message burst plus a handful of refusals fill the second.
    expect(slowestRefusalMs).toBeGreaterThan(50);
    expect(roundTrips).toBeLessThan(60);
  });
});

describe("sockets per principal", () => {
  it("refuses the handshake past the cap with RATE_LIMITED, and admits again once one closes", async () => {
    const open = await sockets("many-tabs", "user", 4);
    const counters = node.gateway.metrics.socket;
    const failed = counters.failed_connections;
    const serverErrors = counters.errors.server_errors;
    expect(await connectError("many-tabs", "user")).toMatchObject({ code: "RATE_LIMITED" });
    // A failed connection, but not a server error (PROTOCOL.md section 8).
    expect(counters.failed_connections).toBe(failed + 1);
    expect(counters.errors.server_errors).toBe(serverErrors);
    // Someone else is not affected.
    await sockets("other-tab", "user", 1);
    const before = node.gateway.metrics.socket.active_connections;
    const closed = open[0] as Socket;
    closed.close();
    await expect
      .poll(() => node.gateway.metrics.socket.active_connections, { timeout: 5_000 })
      .toBe(before - 1);
    await sockets("many-tabs", "user", 1);
  });
});
