import type { Socket } from "socket.io-client";
import { expect, it } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, flushed, waitFor } from "./helpers/gateway.js";

const node = sharedGateway({ sockets: "per-file" });

it("gives every member of 10 sessions every one of 10,000 messages exactly once, and nothing across sessions", async () => {
  const SESSIONS = 10;
  const PER_SESSION = 10; // 5 agents and 5 users each
  const MESSAGES_PER_CLIENT = 100;
  const clients: Array<{
    socket: Socket;
    sessionId: string;
    principal: string;
    got: StoredMessage[];
  }> = [];

  for (let s = 0; s < SESSIONS; s++) {
    const members = Array.from({ length: PER_SESSION }, (_, i) => `s${s}-p${i}`);
    const session = await node.gateway.messaging.createSession(
      { id: members[0] as string, kind: "agent" },
      { id: `many-${s}`, members },
    );
    for (const [i, principal] of members.entries()) {
      const kind = i % 2 === 0 ? "agent" : "user";
      const socket = await connect(node.url, kind === "agent" ? "/agents" : "/clients", {
        token: await node.token(principal, kind),
      });
      const got: StoredMessage[] = [];
      socket.on("message", (m: StoredMessage) => got.push(m));
      await call(socket, "join_session", { sessionId: session.id });
      clients.push({ socket, sessionId: session.id, principal, got });
    }
  }

  const acks = await Promise.all(
    clients.map(async (client) => {
      const results: number[] = [];
      // Each client keeps up to 10 sends in flight, as a chatty agent would.
      for (let batch = 0; batch < MESSAGES_PER_CLIENT; batch += 10) {
        const round = await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            call<{ status: string; seq: number }>(
              client.socket,
              "message",
              {
                id: `${client.principal}-m${batch + k}`,
                sessionId: client.sessionId,
                content: `${client.principal} says ${batch + k}`,
                type: "text",
              },
              20_000,
            ),
          ),
        );
        for (const ack of round) {
          expect(ack.status).toBe("success");
          results.push(ack.seq);
        }
      }
      return results;
    }),
  );
  expect(acks.flat()).toHaveLength(SESSIONS * PER_SESSION * MESSAGES_PER_CLIENT);

  const perSession = PER_SESSION * MESSAGES_PER_CLIENT;
  // Each socket receives everything in its session except its own sends.
  const expectedLive = perSession - MESSAGES_PER_CLIENT;
  await waitFor(() => clients.every((c) => c.got.length >= expectedLive), 20_000, "all deliveries");
  // Any duplicate or stray delivery was written before the pings' acks.
  await flushed(...clients.map((c) => c.socket));

  for (const client of clients) {
    expect(client.got.every((m) => m.sessionId === client.sessionId)).toBe(true);
    expect(client.got.some((m) => m.senderId === client.principal)).toBe(false);
    const seqs = client.got.map((m) => m.seq).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toHaveLength(expectedLive);
    // Together with its own acked sends, the socket holds seq 1..1000 of its session once each.
    const own = acks[clients.indexOf(client)] as number[];
    const all = [...seqs, ...own].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: perSession }, (_, i) => i + 1));
  }
}, 120_000);
