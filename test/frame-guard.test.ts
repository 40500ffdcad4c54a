/**
 * Frames socket.io would otherwise take whole (PROTOCOL.md section 1 and 4): too many event
 * arguments, too many binary attachments, a binary packet left incomplete.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnNode } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect } from "./helpers/gateway.js";
import { drops } from "./helpers/metric.js";
import { closedWithin, RawSocket } from "./helpers/raw-socket.js";

const node = sharedGateway({ env: { SOCKET_BINARY_TIMEOUT_MS: "300" } });
const raws: RawSocket[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.close();
});

async function rawClient(): Promise<RawSocket> {
  const raw = await RawSocket.open(node.url, "/clients", await node.token("mallory", "user"));
  raws.push(raw);
  return raw;
}

describe("event arguments", () => {
  it("answers an event with more than one payload INVALID_PAYLOAD, and closes the socket on a repeat", async () => {
    const raw = await rawClient();
    raw.send('42/clients,1["ping",{},{}]');
    expect(await raw.ack("/clients", 1)).toMatchObject({
      status: "error",
      code: "INVALID_PAYLOAD",
      retryable: false,
    });
    // One payload is fine, on the same socket.
    raw.send('42/clients,2["ping",{}]');
    expect(await raw.ack("/clients", 2)).toMatchObject({ status: "success" });
    raw.send('42/clients,3["ping",1,2,3]');
    expect(await raw.ack("/clients", 3)).toMatchObject({ code: "INVALID_PAYLOAD" });
    expect(await raw.next((f) => f.startsWith('42/clients,["gateway:error"'))).toContain(
      "INVALID_PAYLOAD",
    );
    await raw.closed;
    expect(await drops(node.gateway.metrics, "oversized_event")).toBe(1);
  });
});

describe("binary packets", () => {
  it("refuses a packet announcing more attachments than the cap by closing the connection", async () => {
    const raw = await rawClient();
    raw.send(
      '452-/clients,1["ping",{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}]',
    );
    raw.send(Buffer.from([1]));
    raw.send(Buffer.from([2]));
    await raw.closed;
    expect(raw.frames.some((f) => f.startsWith("43/clients,1"))).toBe(false);
  });

  it("answers a complete one-attachment packet INVALID_PAYLOAD, since no payload takes bytes", async () => {
    const raw = await rawClient();
    raw.send('451-/clients,1["sync",{"sessionId":{"_placeholder":true,"num":0},"afterSeq":0}]');
    raw.send(Buffer.from("abc"));
    expect(await raw.ack("/clients", 1)).toMatchObject({ code: "INVALID_PAYLOAD" });
  });

  it("closes a connection whose binary packet stays incomplete past the timeout", async () => {
    const before = await drops(node.gateway.metrics, "incomplete_binary");
    const raw = await rawClient();
    const started = Date.now();
    raw.send('451-/clients,1["ping",{"_placeholder":true,"num":0}]');
    expect(await closedWithin(raw, 5_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await drops(node.gateway.metrics, "incomplete_binary")).toBe(before + 1);
  });
});

describe("a node in a process of its own", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it("survives an event with 45,000 arguments while another socket keeps its acks", async () => {
    const child = await spawnNode({ DATABASE_URL: db.url, NODE_ID: "frames-child" });
    try {
      const token = async (sub: string) => {
        const res = await fetch(`${child.url}/v1/dev/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sub, kind: "user" }),
        });
        return ((await res.json()) as { token: string }).token;
      };
      const bystander = await connect(child.url, "/clients", { token: await token("bob") });
      const raw = await RawSocket.open(child.url, "/clients", await token("mallory"));
      raws.push(raw);
      raw.send(`42/clients,7["ping"${",1".repeat(45_000)}]`);
      expect(await raw.ack("/clients", 7)).toMatchObject({ code: "INVALID_PAYLOAD" });
      expect(await call(bystander, "ping", {})).toMatchObject({ status: "success" });
      expect(child.child.exitCode).toBeNull();
      expect(child.child.signalCode).toBeNull();
    } finally {
      await child.stop();
    }
  });
});
