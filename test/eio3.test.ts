/**
 * SOCKET_ALLOW_EIO3: Engine.IO 3 clients (socket.io-client 2.x, python-socketio 4.x) are refused
 * by default and admitted when it is on. No such client is installed here, so the test speaks
 * their wire format over long-polling: `<length>:<packet>` payloads and a namespace CONNECT.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

let node: TestGateway | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

/** Engine.IO 3 polling payload: `<length>:<packet>` repeated. */
function decodeEio3(body: string): string[] {
  const packets: string[] = [];
  let rest = body;
  while (rest.length > 0) {
    const colon = rest.indexOf(":");
    const length = Number(rest.slice(0, colon));
    packets.push(rest.slice(colon + 1, colon + 1 + length));
    rest = rest.slice(colon + 1 + length);
  }
  return packets;
}

async function eio3Connect(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  const base = `${url}/socket.io/?EIO=3&transport=polling`;
  const open = await fetch(`${base}&t=1`, { headers });
  if (open.status !== 200) return { status: open.status, packets: [] as string[] };
  const first = decodeEio3(await open.text());
  const sid = (JSON.parse((first[0] as string).slice(1)) as { sid: string }).sid;
  const connect = "40/clients,";
  const sent = await fetch(`${base}&sid=${sid}&t=2`, {
    method: "POST",
    headers: { ...headers, "content-type": "text/plain;charset=UTF-8" },
    body: `${connect.length}:${connect}`,
  });
  expect(sent.status).toBe(200);
  const packets = [...first];
  // Poll until the namespace answers (CONNECT or CONNECT_ERROR for /clients).
  for (let i = 0; i < 5 && !packets.some((p) => /^4[04]\/clients/.test(p)); i++) {
    const poll = await fetch(`${base}&sid=${sid}&t=${3 + i}`, { headers });
    packets.push(...decodeEio3(await poll.text()));
  }
  return { status: 200, packets };
}

describe("Engine.IO 3 clients", () => {
  it("are refused by default", async () => {
    node = await startTestGateway();
    const res = await eio3Connect(node.url, await node.token("alice", "user"));
    expect(res.status).toBe(400);
  });

  it("connect to /clients with SOCKET_ALLOW_EIO3=true and a token in the Authorization header", async () => {
    node = await startTestGateway({ env: { SOCKET_ALLOW_EIO3: "true" } });
    const res = await eio3Connect(node.url, await node.token("alice", "user"));
    expect(res.status).toBe(200);
    expect(res.packets.some((p) => p.startsWith("40/clients"))).toBe(true);
  });

  it("are refused on /clients with a bad token, with the gateway's error code", async () => {
    node = await startTestGateway({ env: { SOCKET_ALLOW_EIO3: "true" } });
    const res = await eio3Connect(node.url, "not-a-token");
    const refusal = res.packets.find((p) => p.startsWith("44/clients,"));
    expect(refusal).toBeDefined();
    expect(refusal).toContain("AUTH_INVALID");
  });
});
