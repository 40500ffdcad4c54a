import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresenceEvent, StoredMessage } from "../src/sdk/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { waitFor } from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";
import { clientFactory, createSession } from "./sdk-fixtures.js";

const node = sharedGateway();
const client = clientFactory();
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterAll(async () => {
  await proxy?.close();
});

const online = (list: Array<{ principalId: string }>) => list.map((p) => p.principalId).sort();

describe("SDK presence", () => {
  it("keeps each joined session's online list from the join and the presence events", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const watcher = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    expect(watcher.presence(session.id)).toEqual([]);
    await watcher.joinSession(session.id);
    expect(watcher.presence(session.id)).toEqual([
      { principalId: "bot", kind: "agent", name: "bot", since: expect.any(Number) },
    ]);
    const seen: PresenceEvent[] = [];
    watcher.on("presence", (event) => seen.push(event));

    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.gateway.tokens.sign({ sub: "alice", kind: "user", name: "Alice" }),
    });
    await user.joinSession(session.id);
    expect(online(user.presence(session.id))).toEqual(["alice", "bot"]);
    await waitFor(() => seen.length === 1, 2_000, "alice online");
    expect(seen[0]).toMatchObject({ principalId: "alice", name: "Alice", state: "online" });
    expect(online(watcher.presence(session.id))).toEqual(["alice", "bot"]);

    // Its own message comes back through the SDK with the name the server knows it by.
    const own: StoredMessage[] = [];
    user.on("message", (m) => own.push(m));
    await user.send({ sessionId: session.id, content: "hi", type: "text" });
    await waitFor(() => own.length === 1, 2_000, "the own message");
    expect(own[0]).toMatchObject({ senderId: "alice", senderName: "Alice" });

    await user.close();
    await waitFor(() => seen.length === 2, 2_000, "alice offline");
    expect(seen[1]).toMatchObject({ principalId: "alice", state: "offline" });
    expect(online(watcher.presence(session.id))).toEqual(["bot"]);

    await watcher.leaveSession(session.id);
    expect(watcher.presence(session.id)).toEqual([]);
  });

  it("says `joined` after a rejoin, whose online list holds what changed while offline", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const watcher = client({
      url: proxy.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    const joins: string[] = [];
    watcher.on("joined", (event) => joins.push(event.sessionId));
    await watcher.joinSession(session.id);
    expect(joins).toEqual([session.id]);
    const user = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("alice", "user"),
    });
    await user.joinSession(session.id);
    await waitFor(() => watcher.presence(session.id).length === 2, 2_000, "alice online");

    proxy.refuse();
    proxy.cut();
    await waitFor(() => watcher.status !== "connected", 5_000, "the watcher cut off");
    await user.close();
    proxy.accept();
    await waitFor(() => joins.length === 2, 10_000, "the rejoin");
    expect(online(watcher.presence(session.id))).toEqual(["bot"]);
  });
});
