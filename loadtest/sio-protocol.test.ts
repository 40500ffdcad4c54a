/**
 * The k6 suite's protocol core, driven over the `ws` package against a real socket.io server on
 * port 0: the same frames k6 would exchange with the gateway.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type ExtendedError, Server, type Socket } from "socket.io";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { WebSocketServer } from "ws";
import {
  AckError,
  decodePacket,
  encodePacket,
  PacketType,
  ProtocolError,
  parseOpenPacket,
  websocketUrl,
} from "./lib/sio-protocol.js";
import { connected, drive as driveUrl, nextEvent, sleep, terminateAll } from "./ws-driver.js";

const PING_INTERVAL = 200;
const PING_TIMEOUT = 200;
const TOKENS: Record<string, string> = { "/agents": "agent-token", "/clients": "user-token" };

let httpServer: HttpServer;
let io: Server;
let baseUrl: string;
/** Server-side sockets by Socket.IO id, to check what the server saw. */
const serverSockets = new Map<string, Socket>();
const received: unknown[] = [];

beforeAll(async () => {
  httpServer = createServer();
  io = new Server(httpServer, {
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    transports: ["websocket"],
  });
  io.use((_socket, next) => next(refusal("FORBIDDEN", "the root namespace admits nobody")));
  for (const nsp of ["/agents", "/clients"]) {
    const namespace = io.of(nsp);
    namespace.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      if (token === undefined) return next(refusal("AUTH_REQUIRED", "A token is required"));
      if (token !== TOKENS[nsp]) return next(refusal("AUTH_INVALID", "The token is invalid"));
      next();
    });
    namespace.on("connection", (socket) => {
      serverSockets.set(socket.id, socket);
      socket.on("echo", (payload: unknown, ack?: (r: unknown) => void) => {
        received.push(payload);
        ack?.({ status: "success", echo: payload });
      });
      socket.on("join", (room: string, ack: (r: unknown) => void) => {
        void socket.join(room);
        ack({ status: "success", room });
      });
      socket.on("shout", (p: { room: string; body: unknown }, ack: (r: unknown) => void) => {
        // Like the gateway: the room in both namespaces, except the sending socket.
        socket.to(p.room).emit("message", p.body);
        const other = nsp === "/agents" ? "/clients" : "/agents";
        io.of(other).to(p.room).emit("message", p.body);
        ack({ status: "success" });
      });
      socket.on("slow", (delayMs: number, ack: (r: unknown) => void) => {
        setTimeout(() => ack({ status: "success", late: true }), delayMs);
      });
      socket.on("never", () => {});
      socket.on("kick", () => socket.disconnect());
    });
  }
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

function refusal(code: string, message: string): ExtendedError {
  const err = new Error(message) as ExtendedError;
  err.data = { code, message };
  return err;
}

const drive = (url = websocketUrl(baseUrl), options: { dropPongs?: boolean } = {}) =>
  driveUrl(url, options);

afterEach(() => terminateAll());

async function connectTo(nsp: "/agents" | "/clients", token = TOKENS[nsp]) {
  const d = drive();
  const socket = await connected(d.client.socket(nsp).connect({ token }));
  return { ...d, socket };
}

describe("packet codec", () => {
  test("builds the websocket URL for http and https bases", () => {
    expect(websocketUrl("http://127.0.0.1:3000")).toBe(
      "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket",
    );
    expect(websocketUrl("https://tkr.fly.dev/some/page")).toBe(
      "wss://tkr.fly.dev/socket.io/?EIO=4&transport=websocket",
    );
    expect(websocketUrl("http://h:1", { path: "/rt", query: { a: "x y" } })).toBe(
      "ws://h:1/rt/?EIO=4&transport=websocket&a=x%20y",
    );
    expect(() => websocketUrl("127.0.0.1:3000")).toThrow();
  });

  test("encodes connect, event with ack id and ack packets as socket.io-parser does", () => {
    expect(encodePacket({ type: PacketType.CONNECT, nsp: "/agents", data: { token: "t" } })).toBe(
      '0/agents,{"token":"t"}',
    );
    expect(encodePacket({ type: PacketType.CONNECT, nsp: "/" })).toBe("0");
    expect(encodePacket({ type: PacketType.DISCONNECT, nsp: "/clients" })).toBe("1/clients,");
    expect(
      encodePacket({ type: PacketType.EVENT, nsp: "/agents", id: 17, data: ["message", { a: 1 }] }),
    ).toBe('2/agents,17["message",{"a":1}]');
    expect(encodePacket({ type: PacketType.ACK, nsp: "/", id: 3, data: [] })).toBe("33[]");
  });

  test("decodes namespaces, multi-digit ack ids and JSON payloads", () => {
    expect(decodePacket('0/agents,{"sid":"abc"}')).toEqual({
      type: 0,
      nsp: "/agents",
      data: { sid: "abc" },
    });
    expect(decodePacket('3/agents,1234[{"status":"success"}]')).toEqual({
      type: 3,
      nsp: "/agents",
      id: 1234,
      data: [{ status: "success" }],
    });
    expect(decodePacket('2["session:head",{"seq":5}]')).toEqual({
      type: 2,
      nsp: "/",
      data: ["session:head", { seq: 5 }],
    });
    expect(decodePacket("1/clients,")).toEqual({ type: 1, nsp: "/clients" });
    expect(decodePacket('4/agents,{"message":"no","data":{"code":"AUTH_INVALID"}}').data).toEqual({
      message: "no",
      data: { code: "AUTH_INVALID" },
    });
  });

  test("refuses malformed packets with a ProtocolError", () => {
    for (const bad of ["", "9", "x", "2/agents,[", "2/agents,{}", "2[]", "3[]", "51-[]", "0[1]"]) {
      expect(() => decodePacket(bad), bad).toThrow(ProtocolError);
    }
  });

  test("parses the Engine.IO open packet and refuses incomplete ones", () => {
    const open = parseOpenPacket(
      '0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    );
    expect(open).toEqual({
      sid: "s1",
      upgrades: [],
      pingInterval: 25000,
      pingTimeout: 20000,
      maxPayload: 1000000,
    });
    expect(() => parseOpenPacket('0{"sid":"s1"}')).toThrow(ProtocolError);
    expect(() => parseOpenPacket("40")).toThrow(ProtocolError);
  });
});

describe("against a real socket.io server", () => {
  test("completes the Engine.IO handshake and learns the server's ping settings", async () => {
    const d = drive();
    await expect.poll(() => d.client.state).toBe("open");
    expect(d.client.handshake?.sid).toMatch(/\S+/);
    expect(d.client.handshake?.pingInterval).toBe(PING_INTERVAL);
    expect(d.client.handshake?.pingTimeout).toBe(PING_TIMEOUT);
    expect(d.errors).toEqual([]);
  });

  test("connects to a namespace with auth and gets the session id the server assigned", async () => {
    const { socket, sent } = await connectTo("/agents");
    expect(socket.state).toBe("connected");
    expect(socket.id).toBeDefined();
    expect(serverSockets.get(socket.id as string)?.nsp.name).toBe("/agents");
    expect(sent[0]).toBe('40/agents,{"token":"agent-token"}');
    expect(socket.connectDuration).toBeGreaterThanOrEqual(0);
  });

  test("reports a refused connect with the server's err.data code and message", async () => {
    const d = drive();
    const socket = d.client.socket("/agents").connect({ token: "forged" });
    const err = await connected(socket).then(
      () => expect.unreachable("a bad token must be refused"),
      (e: Error & { data?: { code: string; message: string } }) => e,
    );
    expect(err.message).toBe("The token is invalid");
    expect(err.data).toEqual({ code: "AUTH_INVALID", message: "The token is invalid" });
    expect(socket.state).toBe("refused");

    const missing = d.client.socket("/clients").connect();
    const err2 = await connected(missing).catch((e: { data?: { code: string } }) => e);
    expect((err2 as { data?: { code: string } }).data?.code).toBe("AUTH_REQUIRED");
  });

  test("emits with an ack id and resolves the matching ack", async () => {
    const { socket, sent } = await connectTo("/agents");
    const [a, b] = await Promise.all([
      socket.requestAsync("echo", { n: 1 }),
      socket.requestAsync("echo", { n: 2 }),
    ]);
    expect(a.response).toEqual({ status: "success", echo: { n: 1 } });
    expect(b.response).toEqual({ status: "success", echo: { n: 2 } });
    expect(a.rttMs).toBeGreaterThanOrEqual(0);
    expect(sent).toContain('42/agents,0["echo",{"n":1}]');
    expect(sent).toContain('42/agents,1["echo",{"n":2}]');
    expect(socket.pendingAcks).toBe(0);
  });

  test("sends quotes, backslashes, newlines and unicode byte-exact both ways", async () => {
    const { socket } = await connectTo("/clients");
    const content = 'She said "hi" \\o/\n\t👋 日本語 — ünïcödé \u2028 end';
    const before = received.length;
    const { response } = await socket.requestAsync("echo", { content });
    expect(received[before]).toEqual({ content });
    expect(response).toEqual({ status: "success", echo: { content } });
  });

  test("receives room broadcasts in both namespaces, except on the sending socket", async () => {
    const agent = await connectTo("/agents");
    const user = await connectTo("/clients");
    const sender = await connectTo("/agents");
    for (const s of [agent.socket, user.socket, sender.socket]) {
      await s.requestAsync("join", "session_1");
    }
    const echoed: unknown[] = [];
    sender.socket.on("message", (m: unknown) => echoed.push(m));
    const body = { seq: 1, content: "fan-out" };
    const agentGot = nextEvent(agent.socket, "message");
    const userGot = nextEvent(user.socket, "message");
    await sender.socket.requestAsync("shout", { room: "session_1", body });
    expect(await agentGot).toEqual([body]);
    expect(await userGot).toEqual([body]);
    await sleep(50);
    expect(echoed).toEqual([]);
  });

  test("answers server pings so the connection outlives several ping intervals", async () => {
    const { client, socket } = await connectTo("/agents");
    await sleep(PING_INTERVAL * 6 + 100);
    expect(client.stats.pingsAnswered).toBeGreaterThanOrEqual(4);
    expect(client.state).toBe("open");
    expect(socket.connected).toBe(true);
    expect((await socket.requestAsync("echo", "still here")).response).toMatchObject({
      echo: "still here",
    });
  });

  test("is dropped by the server when its pongs are lost (the control for the test above)", async () => {
    const d = drive(undefined, { dropPongs: true });
    const socket = await connected(d.client.socket("/agents").connect({ token: "agent-token" }));
    const disconnected = nextEvent<string>(socket, "disconnect");
    expect(await d.closed).toBe("transport close");
    expect(await disconnected).toEqual(["transport close"]);
    expect(d.client.stats.pingsAnswered).toBeGreaterThanOrEqual(1);
  });

  test("times out an ack that never comes and counts a late one", async () => {
    const { client, socket } = await connectTo("/agents");
    const err = await socket.requestAsync("never", {}, { timeoutMs: 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(AckError);
    expect((err as AckError).code).toBe("ACK_TIMEOUT");
    expect(client.stats.ackTimeouts).toBe(1);

    const late = await socket.requestAsync("slow", 200, { timeoutMs: 50 }).catch((e) => e);
    expect((late as AckError).code).toBe("ACK_TIMEOUT");
    await expect.poll(() => client.stats.lateAcks).toBe(1);
    expect(socket.pendingAcks).toBe(0);
  });

  test("answers an event the server sent with an ack request", async () => {
    const { socket } = await connectTo("/clients");
    socket.on("question", (q: { n: number }, ack: (r: unknown) => void) => ack({ n: q.n + 1 }));
    const server = serverSockets.get(socket.id as string) as Socket;
    await expect(server.timeout(1000).emitWithAck("question", { n: 41 })).resolves.toEqual({
      n: 42,
    });
  });

  test("buffers emits made before the namespace connect and sends them after it", async () => {
    const d = drive();
    const socket = d.client.socket("/agents");
    const early = socket.requestAsync("echo", "early");
    socket.connect({ token: "agent-token" });
    expect((await early).response).toEqual({ status: "success", echo: "early" });
    const connectIndex = d.sent.findIndex((f) => f.startsWith("40/agents,"));
    const emitIndex = d.sent.findIndex((f) => f.includes('"early"'));
    expect(connectIndex).toBeGreaterThanOrEqual(0);
    expect(emitIndex).toBeGreaterThan(connectIndex);
  });

  test("fails pending acks and reports the reason when the server disconnects the socket", async () => {
    const { socket } = await connectTo("/agents");
    const pending = socket.requestAsync("never", {}, { timeoutMs: 5000 });
    const disconnected = nextEvent<string>(socket, "disconnect");
    socket.emit("kick");
    expect(await disconnected).toEqual(["io server disconnect"]);
    await expect(pending).rejects.toMatchObject({ code: "DISCONNECTED" });
    expect(socket.state).toBe("disconnected");
  });

  test("leaves its namespaces and closes the transport on close()", async () => {
    const { client, socket, closed } = await connectTo("/clients");
    const server = serverSockets.get(socket.id as string) as Socket;
    const serverReason = new Promise<string>((resolve) => server.on("disconnect", resolve));
    client.close();
    expect(await serverReason).toBe("client namespace disconnect");
    expect(await closed).toBe("io client disconnect");
    expect(socket.connected).toBe(false);
  });
});

describe("heartbeat watchdog", () => {
  test("closes the connection when the server stops pinging", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    wss.on("connection", (ws) => {
      ws.send('0{"sid":"silent","upgrades":[],"pingInterval":100,"pingTimeout":50}');
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    try {
      const { port } = wss.address() as AddressInfo;
      const d = drive(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
      const started = Date.now();
      expect(await d.closed).toBe("ping timeout");
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});
