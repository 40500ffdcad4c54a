/**
 * The k6 suite's protocol core against a real gateway (Postgres, auth, namespaces, handlers):
 * what k6 sends is what the gateway understands, per PROTOCOL.md.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { AppendResult, StoredMessage } from "../src/protocol/index.js";
import { startTestGateway, type TestGateway } from "../test/helpers/gateway.js";
import { type SioSocket, websocketUrl } from "./lib/sio-protocol.js";
import { connected, drive, nextEvent, terminateAll } from "./ws-driver.js";

let node: TestGateway;
beforeAll(async () => {
  node = await startTestGateway();
});
afterEach(() => terminateAll());
afterAll(async () => {
  await node?.close();
});

async function post<T>(
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function devToken(sub: string, kind: "agent" | "user"): Promise<string> {
  const res = await post<{ token: string }>("/v1/dev/token", { sub, kind });
  expect(res.status).toBe(200);
  return res.json.token;
}

async function open(nsp: "/agents" | "/clients", token: string | undefined): Promise<SioSocket> {
  const d = drive(websocketUrl(node.url));
  return connected(d.client.socket(nsp).connect(token === undefined ? undefined : { token }));
}

type Ack<T> = ({ status: "success" } & T) | { status: "error"; code: string; retryable: boolean };

async function call<T>(socket: SioSocket, event: string, payload: unknown): Promise<Ack<T>> {
  return (await socket.requestAsync(event, payload, { timeoutMs: 5000 })).response as Ack<T>;
}

async function refusal(nsp: "/agents" | "/clients", token: string | undefined) {
  return open(nsp, token).then(
    () => expect.unreachable(`${nsp} must refuse this token`),
    (err: Error & { data?: { code: string; message: string } }) => err.data,
  );
}

describe("the protocol core against the gateway", () => {
  test("connects with a dev token and is refused with the documented codes otherwise", async () => {
    const agentToken = await devToken("k6-agent", "agent");
    const userToken = await devToken("k6-user", "user");
    const agent = await open("/agents", agentToken);
    expect(agent.id).toBeDefined();
    expect((await refusal("/agents", undefined))?.code).toBe("AUTH_REQUIRED");
    expect((await refusal("/agents", `${agentToken}x`))?.code).toBe("AUTH_INVALID");
    expect((await refusal("/agents", userToken))?.code).toBe("FORBIDDEN");
    const refused = await refusal("/clients", agentToken);
    expect(refused).toMatchObject({ code: "FORBIDDEN", message: expect.any(String) });
  });

  test("joins a session, sends with an ack and the other namespace receives the broadcast", async () => {
    const agentToken = await devToken("k6-sender", "agent");
    const userToken = await devToken("k6-reader", "user");
    const session = await post<{ id: string }>(
      "/v1/sessions",
      { members: ["k6-reader"] },
      agentToken,
    );
    expect(session.status).toBe(201);
    const sessionId = session.json.id;

    const agent = await open("/agents", agentToken);
    const user = await open("/clients", userToken);
    expect(await call(agent, "join_session", { sessionId })).toMatchObject({
      status: "success",
      headSeq: 0,
    });
    expect(await call(user, "join_session", { sessionId })).toMatchObject({ status: "success" });

    const content = 'k6 says "hi" \\ 👋 日本語\n';
    const got = nextEvent<StoredMessage>(user, "message");
    const sentAt = Date.now();
    const message = { id: "k6-m1", sessionId, content, type: "text", timestamp: sentAt };
    const ack = await call<AppendResult>(agent, "message", message);
    expect(ack).toMatchObject({ status: "success", id: "k6-m1", seq: 1, duplicate: false });
    const [delivered] = await got;
    expect(delivered).toMatchObject({
      id: "k6-m1",
      seq: 1,
      content,
      senderId: "k6-sender",
      senderKind: "agent",
      timestamp: sentAt,
    });

    // The same id again is a duplicate: acked with the original seq.
    expect(await call<AppendResult>(agent, "message", message)).toMatchObject({
      status: "success",
      seq: 1,
      duplicate: true,
    });
    expect(await call(user, "sync", { sessionId, afterSeq: 0 })).toMatchObject({
      status: "success",
      headSeq: 1,
      hasMore: false,
      messages: [{ id: "k6-m1", seq: 1 }],
    });
    expect(await call(user, "join_session", { sessionId, lastSeq: 0 })).toMatchObject({
      status: "success",
      headSeq: 1,
      messages: [{ seq: 1 }],
    });
  });

  test("gets error acks in the documented shape and a ping ack with the server time", async () => {
    const agent = await open("/agents", await devToken("k6-errors", "agent"));
    expect(await call(agent, "message", { id: "x", sessionId: "nope", type: "text" })).toEqual({
      status: "error",
      code: "INVALID_PAYLOAD",
      message: expect.stringContaining("content"),
      retryable: false,
    });
    expect(await call(agent, "join_session", { sessionId: "no-such-session" })).toMatchObject({
      status: "error",
      code: "NOT_FOUND",
    });
    const before = Date.now();
    const pong = await call<{ serverTime: number }>(agent, "ping", {});
    expect(pong.status).toBe("success");
    expect((pong as { serverTime: number }).serverTime).toBeGreaterThanOrEqual(before - 1000);
  });
});
