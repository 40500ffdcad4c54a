import { describe, expect, it } from "vitest";
import type { TypingEvent } from "../src/sdk/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { waitFor } from "./helpers/gateway.js";
import { clientFactory, createSession } from "./sdk-fixtures.js";

const node = sharedGateway();
const client = clientFactory();

describe("SDK typing", () => {
  it("sends one start per refresh interval while typing goes on, then one stop", async () => {
    const session = await createSession(node, "alice", ["bot"]);
    const typist = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("alice", "user"),
    });
    const watcher = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    await Promise.all([typist.joinSession(session.id), watcher.joinSession(session.id)]);
    const seen: TypingEvent[] = [];
    watcher.on("typing", (event) => seen.push(event));

    for (let i = 0; i < 5; i++) typist.setTyping(session.id, true);
    await waitFor(() => seen.length === 1, 2_000, "the start");
    typist.setTyping(session.id, false);
    typist.setTyping(session.id, false);
    await waitFor(() => seen.length === 2, 2_000, "the stop");
    // A message after the stop is the sentinel: anything more from the keystrokes came before it.
    const arrived = new Promise<void>((resolve) => {
      const off = watcher.on("message", () => {
        off();
        resolve();
      });
    });
    await typist.send({ sessionId: session.id, content: "done", type: "text" });
    await arrived;
    expect(seen).toEqual([
      { sessionId: session.id, principalId: "alice", kind: "user", name: "alice", state: "start" },
      { sessionId: session.id, principalId: "alice", kind: "user", name: "alice", state: "stop" },
    ]);
  });
});
