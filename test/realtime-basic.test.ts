import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, flushed, waitFor } from "./helpers/gateway.js";

const node = sharedGateway();

describe("realtime flows", () => {
  it("delivers a message from an agent to a user but not back to the sending socket", async () => {
    const session = await node.gateway.messaging.createSession(
      { id: "alice", kind: "user" },
      { members: ["bot"] },
    );
    const user = await connect(node.url, "/clients", { token: await node.token("alice", "user") });
    const agent = await connect(node.url, "/agents", { token: await node.token("bot", "agent") });
    expect(await call(user, "join_session", { sessionId: session.id })).toMatchObject({
      status: "success",
      headSeq: 0,
    });
    expect(await call(agent, "join_session", { sessionId: session.id })).toMatchObject({
      status: "success",
    });
    const userGot: StoredMessage[] = [];
    const agentGot: StoredMessage[] = [];
    user.on("message", (m: StoredMessage) => userGot.push(m));
    agent.on("message", (m: StoredMessage) => agentGot.push(m));
    const ack = await call(agent, "message", {
      id: "m1",
      sessionId: session.id,
      content: "hi",
      type: "text",
    });
    expect(ack).toMatchObject({ status: "success", id: "m1", seq: 1, duplicate: false });
    await waitFor(() => userGot.length > 0, 5_000, "the broadcast");
    await flushed(user, agent);
    expect(userGot).toHaveLength(1);
    expect(userGot[0]).toMatchObject({
      id: "m1",
      seq: 1,
      senderId: "bot",
      senderKind: "agent",
      content: "hi",
    });
    expect(agentGot).toHaveLength(0);
  });
});
