/**
 * Socket.IO protocol 5 over Engine.IO protocol 4, WebSocket transport only, as a small state
 * machine with no I/O of its own. It takes a `send(text)` function and is fed every text frame
 * through `onText(text)`, so k6 (`k6/websockets`) and Node (`ws`) drive the same code.
 *
 * Plain ES module on purpose: no k6 import, no Node import, no npm import. k6 runs it as is and
 * vitest tests it against a real socket.io server. Types for TypeScript are in sio-protocol.d.ts.
 *
 * Wire format, one Engine.IO packet per WebSocket frame:
 *   0{"sid":..,"pingInterval":..,"pingTimeout":..}   Engine.IO open (server, first frame)
 *   2 / 3                                            ping (server) / pong (client)
 *   1                                                Engine.IO close
 *   4<socket.io packet>                              Engine.IO message
 * Socket.IO packet: <type>[<nsp>,][<ack id>][<json>], e.g.
 *   40/agents,{"token":"t"}       CONNECT with auth (client) or with {"sid":..} (server)
 *   44/agents,{"message":..,"data":{"code":..}}      CONNECT_ERROR
 *   42/agents,17["message",{..}]  EVENT expecting ack 17
 *   43/agents,17[{..}]            ACK 17
 *   41/agents,                    DISCONNECT
 */

/** Engine.IO v4 packet types: the first character of every frame. */
export const EngineType = Object.freeze({
  OPEN: "0",
  CLOSE: "1",
  PING: "2",
  PONG: "3",
  MESSAGE: "4",
  UPGRADE: "5",
  NOOP: "6",
});

/** Socket.IO v5 packet types. */
export const PacketType = Object.freeze({
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
});

/** Events a socket emits locally; the server can never send these names. */
const RESERVED_EVENTS = ["connect", "connect_error", "disconnect"];

/** A frame or packet that does not follow the protocol. */
export class ProtocolError extends Error {
  constructor(message, frame) {
    super(message);
    this.name = "ProtocolError";
    this.frame = typeof frame === "string" ? frame.slice(0, 200) : undefined;
  }
}

/** An ack that never came, or a socket that went away while one was pending. */
export class AckError extends Error {
  /** @param {"ACK_TIMEOUT" | "DISCONNECTED"} code */
  constructor(code, message) {
    super(message);
    this.name = "AckError";
    this.code = code;
  }
}

/**
 * The WebSocket URL of a Socket.IO server: `http://h:3000` → `ws://h:3000/socket.io/?EIO=4&
 * transport=websocket`, `https` → `wss`. `path` defaults to `/socket.io/`; `query` adds parameters.
 */
export function websocketUrl(baseUrl, options) {
  const opts = options || {};
  const match = /^(https?|wss?):\/\/([^/?#]+)/i.exec(String(baseUrl));
  if (!match) throw new Error(`not an http(s) or ws(s) URL: ${baseUrl}`);
  const scheme = match[1].toLowerCase();
  const wsScheme = scheme === "https" || scheme === "wss" ? "wss" : "ws";
  let path = opts.path || "/socket.io/";
  if (path.charAt(0) !== "/") path = `/${path}`;
  if (path.charAt(path.length - 1) !== "/") path = `${path}/`;
  let query = "EIO=4&transport=websocket";
  const extra = opts.query || {};
  for (const key of Object.keys(extra)) {
    query += `&${encodeURIComponent(key)}=${encodeURIComponent(String(extra[key]))}`;
  }
  return `${wsScheme}://${match[2]}${path}?${query}`;
}

/** Encodes one Socket.IO packet (without the Engine.IO `4` prefix). */
export function encodePacket(packet) {
  let text = String(packet.type);
  if (packet.nsp && packet.nsp !== "/") text += `${packet.nsp},`;
  if (packet.id !== undefined && packet.id !== null) text += String(packet.id);
  if (packet.data !== undefined) text += JSON.stringify(packet.data);
  return text;
}

function isDigit(ch) {
  return ch >= "0" && ch <= "9";
}

/**
 * Decodes one Socket.IO packet (without the Engine.IO `4` prefix) into
 * `{ type, nsp, id?, data? }`, or throws a ProtocolError. Binary packets are refused: the gateway
 * never sends them and the load tests never need them.
 */
export function decodePacket(text) {
  if (typeof text !== "string" || text.length === 0) {
    throw new ProtocolError("empty Socket.IO packet", text);
  }
  const type = Number(text.charAt(0));
  if (!(type >= 0 && type <= 6) || !isDigit(text.charAt(0))) {
    throw new ProtocolError(`unknown Socket.IO packet type ${text.charAt(0)}`, text);
  }
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    throw new ProtocolError("binary packets are not supported", text);
  }
  let i = 1;
  let nsp = "/";
  if (text.charAt(i) === "/") {
    const comma = text.indexOf(",", i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? text.length : comma + 1;
  }
  let id;
  const idStart = i;
  while (i < text.length && isDigit(text.charAt(i))) i++;
  if (i > idStart) id = Number(text.slice(idStart, i));
  let data;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch (_err) {
      throw new ProtocolError("invalid JSON in Socket.IO packet", text);
    }
  }
  const packet = { type, nsp };
  if (id !== undefined) packet.id = id;
  if (data !== undefined) packet.data = data;
  validatePacket(packet, text);
  return packet;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function validatePacket(packet, text) {
  switch (packet.type) {
    case PacketType.CONNECT:
      if (packet.data !== undefined && !isObject(packet.data)) {
        throw new ProtocolError("CONNECT payload must be an object", text);
      }
      return;
    case PacketType.DISCONNECT:
      return;
    case PacketType.CONNECT_ERROR:
      if (!isObject(packet.data) && typeof packet.data !== "string") {
        throw new ProtocolError("CONNECT_ERROR payload must be an object", text);
      }
      return;
    case PacketType.EVENT: {
      const data = packet.data;
      if (!Array.isArray(data) || data.length === 0) {
        throw new ProtocolError("EVENT payload must be a non-empty array", text);
      }
      if (typeof data[0] !== "string" && typeof data[0] !== "number") {
        throw new ProtocolError("EVENT name must be a string", text);
      }
      return;
    }
    case PacketType.ACK:
      if (packet.id === undefined || !Array.isArray(packet.data)) {
        throw new ProtocolError("ACK needs an id and an array payload", text);
      }
      return;
    default:
      throw new ProtocolError(`unexpected packet type ${packet.type}`, text);
  }
}

/**
 * Parses the Engine.IO open packet `0{"sid":..,"pingInterval":..,"pingTimeout":..,..}`.
 * Returns `{ sid, upgrades, pingInterval, pingTimeout, maxPayload }` or throws a ProtocolError.
 */
export function parseOpenPacket(text) {
  if (typeof text !== "string" || text.charAt(0) !== EngineType.OPEN) {
    throw new ProtocolError("not an Engine.IO open packet", text);
  }
  let body;
  try {
    body = JSON.parse(text.slice(1));
  } catch (_err) {
    throw new ProtocolError("invalid JSON in Engine.IO open packet", text);
  }
  if (
    !isObject(body) ||
    typeof body.sid !== "string" ||
    typeof body.pingInterval !== "number" ||
    typeof body.pingTimeout !== "number"
  ) {
    throw new ProtocolError("Engine.IO open packet lacks sid, pingInterval or pingTimeout", text);
  }
  return {
    sid: body.sid,
    upgrades: Array.isArray(body.upgrades) ? body.upgrades : [],
    pingInterval: body.pingInterval,
    pingTimeout: body.pingTimeout,
    maxPayload: typeof body.maxPayload === "number" ? body.maxPayload : undefined,
  };
}

function defaultTimers() {
  const g = typeof globalThis === "undefined" ? undefined : globalThis;
  if (g && typeof g.setTimeout === "function" && typeof g.clearTimeout === "function") {
    return {
      setTimeout: (fn, ms) => g.setTimeout(fn, ms),
      clearTimeout: (handle) => g.clearTimeout(handle),
    };
  }
  return undefined;
}

/**
 * One Engine.IO connection and the Socket.IO namespaces multiplexed over it.
 *
 * States: `opening` (waiting for the Engine.IO open packet), `open`, `closed`. Namespace connects
 * asked for while `opening` are sent as soon as the open packet arrives.
 */
export class SioClient {
  /**
   * @param {object} options
   * @param {(text: string) => void} options.send writes one text frame to the WebSocket.
   * @param {() => void} [options.close] closes the WebSocket; called on Engine.IO close and when
   *   the server's pings stop (ping timeout).
   * @param {{ setTimeout(fn: () => void, ms: number): unknown, clearTimeout(h: unknown): void }}
   *   [options.timers] for ack timeouts and the heartbeat watchdog; default the global ones.
   * @param {() => number} [options.now] clock for ack round trips; default Date.now.
   * @param {(err: Error) => void} [options.onError] protocol errors (bad frames); default ignore.
   * @param {(reason: string) => void} [options.onClose] the connection ended, once.
   */
  constructor(options) {
    if (!options || typeof options.send !== "function") {
      throw new TypeError("SioClient needs a send(text) function");
    }
    this._send = options.send;
    this._closeTransport = typeof options.close === "function" ? options.close : () => {};
    this._timers = options.timers || defaultTimers();
    this.now = options.now || (() => Date.now());
    this._onError = options.onError || (() => {});
    this._onClose = options.onClose || (() => {});
    /** `opening` | `open` | `closed` */
    this.state = "opening";
    /** The parsed Engine.IO open packet once received. */
    this.handshake = undefined;
    this.closeReason = undefined;
    this.stats = {
      framesIn: 0,
      framesOut: 0,
      pingsAnswered: 0,
      protocolErrors: 0,
      lateAcks: 0,
      ackTimeouts: 0,
    };
    this._sockets = {};
    this._watchdog = undefined;
  }

  /** The socket of namespace `nsp` (created on first use; one per namespace). */
  socket(nsp) {
    const name = nsp || "/";
    if (name.charAt(0) !== "/") throw new Error(`namespace must start with "/": ${name}`);
    if (!this._sockets[name]) this._sockets[name] = new SioSocket(this, name);
    return this._sockets[name];
  }

  /** Feed every text frame received from the WebSocket. */
  onText(text) {
    if (this.state === "closed") return;
    this.stats.framesIn++;
    if (typeof text !== "string" || text.length === 0) {
      this._protocolError(new ProtocolError("empty or non-text frame", text));
      return;
    }
    const kind = text.charAt(0);
    if (this.state === "opening") {
      if (kind !== EngineType.OPEN) {
        this._protocolError(new ProtocolError("expected the Engine.IO open packet first", text));
        return;
      }
      let handshake;
      try {
        handshake = parseOpenPacket(text);
      } catch (err) {
        this._protocolError(err);
        return;
      }
      this.handshake = handshake;
      this.state = "open";
      this._resetWatchdog();
      for (const name of Object.keys(this._sockets)) this._sockets[name]._onEngineOpen();
      return;
    }
    switch (kind) {
      case EngineType.PING:
        this._resetWatchdog();
        this._write(EngineType.PONG + text.slice(1));
        this.stats.pingsAnswered++;
        return;
      case EngineType.MESSAGE:
        this._onPacketText(text.slice(1));
        return;
      case EngineType.CLOSE:
        this._finish("io server disconnect", true);
        return;
      case EngineType.NOOP:
      case EngineType.PONG:
        return;
      default:
        this._protocolError(new ProtocolError(`unexpected Engine.IO packet ${kind}`, text));
    }
  }

  /** Tell the client the WebSocket closed (for any reason). Idempotent. */
  onTransportClose(reason) {
    this._finish(reason || "transport close", false);
  }

  /**
   * Leaves every connected namespace, then closes the WebSocket. The socket `disconnect` events
   * get reason `io client disconnect`.
   */
  close() {
    if (this.state === "closed") return;
    if (this.state === "open") {
      for (const name of Object.keys(this._sockets)) {
        const socket = this._sockets[name];
        if (socket.connected) this._sendPacket({ type: PacketType.DISCONNECT, nsp: name });
      }
    }
    this._finish("io client disconnect", true);
  }

  _write(text) {
    this.stats.framesOut++;
    this._send(text);
  }

  _sendPacket(packet) {
    this._write(EngineType.MESSAGE + encodePacket(packet));
  }

  _onPacketText(text) {
    let packet;
    try {
      packet = decodePacket(text);
    } catch (err) {
      this._protocolError(err);
      return;
    }
    const socket = this._sockets[packet.nsp];
    if (socket) socket._onPacket(packet);
  }

  _protocolError(err) {
    this.stats.protocolErrors++;
    this._onError(err);
  }

  _resetWatchdog() {
    if (!this._timers || !this.handshake) return;
    if (this._watchdog !== undefined) this._timers.clearTimeout(this._watchdog);
    const limit = this.handshake.pingInterval + this.handshake.pingTimeout;
    this._watchdog = this._timers.setTimeout(() => {
      this._watchdog = undefined;
      this._finish("ping timeout", true);
    }, limit);
  }

  _finish(reason, closeTransport) {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeReason = reason;
    if (this._watchdog !== undefined && this._timers) this._timers.clearTimeout(this._watchdog);
    this._watchdog = undefined;
    for (const name of Object.keys(this._sockets)) this._sockets[name]._onClosed(reason);
    if (closeTransport) this._closeTransport();
    this._onClose(reason);
  }
}

/**
 * One namespace over a SioClient, shaped like socket.io-client's Socket: `connect(auth)`,
 * `on(event, fn)`, `emit(event, ...args)` and `request(event, payload, options, callback)` for
 * an emit with an ack and a timeout.
 *
 * Local events: `connect` (), `connect_error` (err with `err.data`), `disconnect` (reason).
 * A server event that wants an ack gets an ack function as its last argument.
 */
export class SioSocket {
  constructor(client, nsp) {
    this.client = client;
    this.nsp = nsp;
    /** `idle` | `connecting` | `connected` | `refused` | `disconnected` */
    this.state = "idle";
    /** The Socket.IO session id, once connected. */
    this.id = undefined;
    this._auth = undefined;
    this._handlers = {};
    this._acks = {};
    this._nextAckId = 0;
    this._buffer = [];
    this._connectSentAt = undefined;
    /** Milliseconds from sending CONNECT to its ack, once connected. */
    this.connectDuration = undefined;
  }

  get connected() {
    return this.state === "connected";
  }

  /** Acks still waiting for an answer. */
  get pendingAcks() {
    return Object.keys(this._acks).length;
  }

  /** Sends the namespace CONNECT with `auth` (e.g. `{ token }`) once Engine.IO is open. */
  connect(auth) {
    if (this.state === "connecting" || this.state === "connected") return this;
    if (this.client.state === "closed") throw new Error("the connection is closed");
    this._auth = auth;
    this.state = "connecting";
    if (this.client.state === "open") this._sendConnect();
    return this;
  }

  /** Leaves the namespace; the WebSocket stays open for other namespaces. */
  disconnect() {
    if (this.state === "connected" && this.client.state === "open") {
      this.client._sendPacket({ type: PacketType.DISCONNECT, nsp: this.nsp });
    }
    if (this.state === "connected" || this.state === "connecting") {
      this._end("io client disconnect");
    }
    return this;
  }

  on(event, handler) {
    if (!this._handlers[event]) this._handlers[event] = [];
    this._handlers[event].push(handler);
    return this;
  }

  off(event, handler) {
    const list = this._handlers[event];
    if (!list) return this;
    this._handlers[event] = handler ? list.filter((h) => h !== handler) : [];
    return this;
  }

  /**
   * Emits `event` with `args`. A function as the last argument receives the ack's arguments,
   * without a timeout (use `request` for one). Emits made before the namespace is connected are
   * buffered and sent on connect, as socket.io-client does.
   */
  emit(event, ...args) {
    if (RESERVED_EVENTS.indexOf(event) !== -1) throw new Error(`"${event}" is a reserved event`);
    let ack;
    if (args.length > 0 && typeof args[args.length - 1] === "function") ack = args.pop();
    const packet = { type: PacketType.EVENT, nsp: this.nsp, data: [event].concat(args) };
    if (ack) {
      const id = this._nextAckId++;
      packet.id = id;
      this._acks[id] = {
        fn: (err, values) => (err ? undefined : ack(...values)),
        timer: undefined,
      };
    }
    this._sendOrBuffer(packet);
    return this;
  }

  /**
   * Emits `event` with one `payload` and waits for the ack: `callback(null, response, rttMs)`
   * with the ack's first argument, or `callback(err)` with an AckError: `ACK_TIMEOUT` after
   * `options.timeoutMs` (default 10000; 0 means none) or `DISCONNECTED`. A late ack is counted
   * in `client.stats.lateAcks` and dropped. Returns the ack id.
   */
  request(event, payload, options, callback) {
    if (RESERVED_EVENTS.indexOf(event) !== -1) throw new Error(`"${event}" is a reserved event`);
    const timeoutMs = options && typeof options.timeoutMs === "number" ? options.timeoutMs : 10000;
    const id = this._nextAckId++;
    const startedAt = this.client.now();
    const entry = { fn: undefined, timer: undefined };
    entry.fn = (err, values) => {
      if (err) callback(err);
      else callback(null, values[0], this.client.now() - startedAt);
    };
    this._acks[id] = entry;
    const timers = this.client._timers;
    if (timeoutMs > 0 && timers) {
      entry.timer = timers.setTimeout(() => {
        if (this._acks[id] !== entry) return;
        delete this._acks[id];
        this.client.stats.ackTimeouts++;
        callback(new AckError("ACK_TIMEOUT", `no ack for "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    this._sendOrBuffer({ type: PacketType.EVENT, nsp: this.nsp, id, data: [event, payload] });
    return id;
  }

  /** `request` as a Promise of `{ response, rttMs }`; rejects with an AckError. */
  requestAsync(event, payload, options) {
    return new Promise((resolve, reject) => {
      this.request(event, payload, options, (err, response, rttMs) => {
        if (err) reject(err);
        else resolve({ response, rttMs });
      });
    });
  }

  _sendOrBuffer(packet) {
    if (this.state === "connected" && this.client.state === "open") {
      this.client._sendPacket(packet);
    } else if (
      this.client.state === "closed" ||
      this.state === "disconnected" ||
      this.state === "refused"
    ) {
      // Nothing will ever carry it: fail its ack now instead of at the timeout.
      if (packet.id !== undefined) this._failAck(packet.id, "the socket is disconnected");
    } else {
      this._buffer.push(packet);
    }
  }

  _sendConnect() {
    this._connectSentAt = this.client.now();
    const packet = { type: PacketType.CONNECT, nsp: this.nsp };
    if (this._auth !== undefined) packet.data = this._auth;
    this.client._sendPacket(packet);
  }

  _onEngineOpen() {
    if (this.state === "connecting") this._sendConnect();
  }

  _onPacket(packet) {
    switch (packet.type) {
      case PacketType.CONNECT: {
        if (this.state !== "connecting") return;
        const data = packet.data || {};
        this.id = typeof data.sid === "string" ? data.sid : undefined;
        this.state = "connected";
        if (this._connectSentAt !== undefined) {
          this.connectDuration = this.client.now() - this._connectSentAt;
        }
        const buffered = this._buffer;
        this._buffer = [];
        for (const p of buffered) this.client._sendPacket(p);
        this._fire("connect", []);
        return;
      }
      case PacketType.CONNECT_ERROR: {
        const body = isObject(packet.data) ? packet.data : { message: String(packet.data) };
        const err = new Error(typeof body.message === "string" ? body.message : "connect error");
        err.data = body.data;
        this.state = "refused";
        this._failBuffered("the namespace refused the connection");
        this._fire("connect_error", [err]);
        return;
      }
      case PacketType.DISCONNECT:
        if (this.state === "connected" || this.state === "connecting") {
          this._end("io server disconnect");
        }
        return;
      case PacketType.EVENT: {
        const args = packet.data.slice(1);
        if (packet.id !== undefined) {
          const ackId = packet.id;
          let answered = false;
          args.push((...values) => {
            if (answered || this.client.state !== "open") return;
            answered = true;
            this.client._sendPacket({
              type: PacketType.ACK,
              nsp: this.nsp,
              id: ackId,
              data: values,
            });
          });
        }
        this._fire(String(packet.data[0]), args);
        return;
      }
      case PacketType.ACK: {
        const entry = this._acks[packet.id];
        if (!entry) {
          this.client.stats.lateAcks++;
          return;
        }
        delete this._acks[packet.id];
        if (entry.timer !== undefined) this.client._timers.clearTimeout(entry.timer);
        entry.fn(null, packet.data);
        return;
      }
      default:
        return;
    }
  }

  _onClosed(reason) {
    if (this.state === "connected" || this.state === "connecting") this._end(reason);
    else this._failAll(reason);
  }

  _end(reason) {
    const wasConnected = this.state === "connected";
    this.state = "disconnected";
    this._failAll(reason);
    if (wasConnected) this._fire("disconnect", [reason]);
  }

  _failAll(reason) {
    this._failBuffered(reason);
    for (const id of Object.keys(this._acks)) this._failAck(id, reason);
  }

  _failBuffered(reason) {
    const buffered = this._buffer;
    this._buffer = [];
    for (const p of buffered) if (p.id !== undefined) this._failAck(p.id, reason);
  }

  _failAck(id, reason) {
    const entry = this._acks[id];
    if (!entry) return;
    delete this._acks[id];
    if (entry.timer !== undefined) this.client._timers.clearTimeout(entry.timer);
    entry.fn(new AckError("DISCONNECTED", `disconnected before the ack: ${reason}`));
  }

  _fire(event, args) {
    const list = this._handlers[event];
    if (!list) return;
    for (const handler of list.slice()) handler(...args);
  }
}
