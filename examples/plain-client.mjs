// A client written only from PROTOCOL.md, with the standard socket.io-client and no SDK:
// get dev tokens, create a session, connect a user and an agent, exchange a message, catch up.
//
//   node examples/plain-client.mjs            (against npm start on http://localhost:3000)
//   GATEWAY_URL=http://host:port node examples/plain-client.mjs
import { io } from "socket.io-client";

const base = process.env.GATEWAY_URL ?? "http://localhost:3000";

async function post(path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function connect(namespace, token) {
  const socket = io(`${base}${namespace}`, { auth: { token }, transports: ["websocket"] });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) =>
      reject(new Error(`${namespace}: ${err.data?.code ?? err.message}`)),
    );
  });
}

const suffix = Math.random().toString(36).slice(2, 8);
const { token: userToken } = await post("/v1/dev/token", { sub: `user-${suffix}`, kind: "user" });
const { token: agentToken } = await post("/v1/dev/token", {
  sub: `agent-${suffix}`,
  kind: "agent",
});
const session = await post(
  "/v1/sessions",
  { title: "plain client", members: [`agent-${suffix}`] },
  userToken,
);

const user = await connect("/clients", userToken);
const agent = await connect("/agents", agentToken);

// Every event takes one payload and an ack; the ack is { status: "success", ... } or an error.
const joined = await user.timeout(5000).emitWithAck("join_session", { sessionId: session.id });
await agent.timeout(5000).emitWithAck("join_session", { sessionId: session.id });
console.log("joined", joined.status, "head", joined.headSeq);

const received = new Promise((resolve) => user.once("message", resolve));
const ack = await agent.timeout(5000).emitWithAck("message", {
  id: `m-${suffix}`,
  sessionId: session.id,
  content: "Hello from an agent",
  type: "text",
});
console.log("ack", ack.status, "seq", ack.seq);
const message = await received;
console.log("user received", message.seq, message.senderId, message.content);

// A reconnecting client catches up with lastSeq: everything after it, oldest first.
const caughtUp = await user
  .timeout(5000)
  .emitWithAck("join_session", { sessionId: session.id, lastSeq: 0 });
console.log("catch-up", caughtUp.messages.map((m) => m.seq).join(","), "hasMore", caughtUp.hasMore);

user.close();
agent.close();
