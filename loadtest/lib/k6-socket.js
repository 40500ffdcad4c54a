/**
 * The k6 side of the suite: drives sio-protocol.js over `k6/websockets`, gets tokens and sets up
 * sessions over `k6/http`, and records the custom metrics every scenario's thresholds use.
 *
 * Requires k6 v0.54 or newer (`k6/websockets`, `k6/timers`). Metrics are created here, at module
 * load, because k6 only allows that in the init context.
 */
import { check } from "k6";
import crypto from "k6/crypto";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import { clearTimeout, setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { chatMessage } from "./scenarios.js";
import { SioClient, websocketUrl } from "./sio-protocol.js";
import { envReader, jwtClaims, jwtSigningInput, SeqTracker, safeId, trimBase } from "./util.js";

export const metrics = {
  /** Send (sender's `timestamp`) to receive on another socket, in ms. */
  messageLatency: new Trend("message_latency", true),
  /** Emit to ack, in ms. */
  ackLatency: new Trend("ack_latency", true),
  /** WebSocket open to namespace CONNECT ack, in ms. */
  connectTime: new Trend("sio_connect_time", true),
  connected: new Counter("sio_connected"),
  connectErrors: new Counter("sio_connect_errors"),
  /** A socket that was connected and went away without the script asking. */
  unexpectedDisconnects: new Counter("sio_unexpected_disconnects"),
  acks: new Counter("sio_acks"),
  ackErrors: new Counter("sio_ack_errors"),
  ackTimeouts: new Counter("sio_ack_timeouts"),
  messagesSent: new Counter("sio_messages_sent"),
  messagesReceived: new Counter("sio_messages_received"),
  duplicates: new Counter("sio_duplicate_messages"),
  protocolErrors: new Counter("sio_protocol_errors"),
};

const k6Timers = { setTimeout, clearTimeout };

/**
 * The target and credentials, from k6's `__ENV`:
 * - `BASE_URL` (default `http://127.0.0.1:3000`) or `BASE_URLS` (comma list, one per node);
 * - `FLY_MACHINES`: machine ids behind one BASE_URL, pinned with `fly-force-instance-id`;
 * - `AGENT_TOKEN` / `USER_TOKEN`: JWTs to use as they are; else `AUTH_JWT_SECRET` to mint
 *   HS256 tokens here; else `POST /v1/dev/token` (dev mode, the gateway's default on its
 *   embedded database);
 * - `TOKEN_TTL` seconds for minted tokens (default 3600), `ACK_TIMEOUT` (default `10s`),
 *   `RUN_ID` to name principals and message ids (default: the start time in base 36).
 */
export function loadConfig(env) {
  const e = envReader(env || (typeof __ENV === "undefined" ? {} : __ENV));
  const urls = e.list("BASE_URLS");
  const baseUrls = (urls.length > 0 ? urls : [e.str("BASE_URL", "http://127.0.0.1:3000")]).map(
    trimBase,
  );
  return {
    baseUrls,
    machines: e.list("FLY_MACHINES"),
    agentToken: e.str("AGENT_TOKEN"),
    userToken: e.str("USER_TOKEN"),
    jwtSecret: e.str("AUTH_JWT_SECRET"),
    tokenTtl: e.int("TOKEN_TTL", 3600),
    ackTimeoutMs: e.ms("ACK_TIMEOUT", "10s"),
    runId: e.str("RUN_ID", Date.now().toString(36)),
    env: e,
  };
}

/** A JWT signed here with `AUTH_JWT_SECRET` (HS256, the gateway's claims). */
export function mintToken(secret, claims, ttlSeconds) {
  const input = jwtSigningInput(claims, Math.floor(Date.now() / 1000), ttlSeconds);
  return `${input}.${crypto.hmac("sha256", secret, input, "base64rawurl")}`;
}

/** A token from `POST /v1/dev/token`; fails the run's checks when dev tokens are off. */
export function devToken(baseUrl, claims) {
  const res = http.post(`${baseUrl}/v1/dev/token`, JSON.stringify(claims), {
    headers: { "content-type": "application/json" },
    tags: { name: "dev_token" },
  });
  const ok = check(res, { "dev token issued": (r) => r.status === 200 });
  if (!ok) {
    throw new Error(
      `POST /v1/dev/token answered ${res.status}: dev tokens are off; pass AGENT_TOKEN and ` +
        "USER_TOKEN or AUTH_JWT_SECRET",
    );
  }
  return res.json().token;
}

/**
 * `{ token, sub }` for a principal of `kind`: the passed-in token of that kind (its `sub` wins
 * over `sub`), else one minted with the secret, else a dev token.
 */
export function tokenFor(config, sub, kind) {
  const given = kind === "agent" ? config.agentToken : config.userToken;
  if (given) return { token: given, sub: String(jwtClaims(given).sub) };
  const claims = { sub, kind };
  if (config.jwtSecret) return { token: mintToken(config.jwtSecret, claims, config.tokenTtl), sub };
  return { token: devToken(config.baseUrls[0], claims), sub };
}

function authHeaders(token, extra) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  for (const key of Object.keys(extra || {})) headers[key] = extra[key];
  return headers;
}

/** `POST /v1/sessions`: a session whose members are the caller and `members`. */
export function createSession(config, token, members, title) {
  const res = http.post(
    `${config.baseUrls[0]}/v1/sessions`,
    JSON.stringify({ title: title || "k6 load test", members }),
    { headers: authHeaders(token), tags: { name: "create_session" } },
  );
  if (!check(res, { "session created": (r) => r.status === 201 })) {
    throw new Error(`POST /v1/sessions answered ${res.status}: ${res.body}`);
  }
  return res.json();
}

/** `POST /v1/sessions/:id/messages`, tagged `name:post_message`. */
export function postMessage(baseUrl, token, sessionId, body, headers) {
  return http.post(`${baseUrl}/v1/sessions/${sessionId}/messages`, JSON.stringify(body), {
    headers: authHeaders(token, headers),
    tags: { name: "post_message" },
  });
}

/** `GET /v1/sessions/:id/messages?afterSeq=&limit=`, tagged `name:get_messages`. */
export function getMessages(baseUrl, token, sessionId, afterSeq, limit, headers) {
  return http.get(
    `${baseUrl}/v1/sessions/${sessionId}/messages?afterSeq=${afterSeq}&limit=${limit}`,
    { headers: authHeaders(token, headers), tags: { name: "get_messages" } },
  );
}

/**
 * Opens one WebSocket, connects namespace `nsp` with `token` and returns a handle:
 * `{ ws, client, socket, node, connected, close() }`. Callbacks: `onConnect(handle)`,
 * `onConnectError(err, handle)` (err.data.code from the gateway, or code `TRANSPORT` when the
 * socket closed first), `onDisconnect(reason, expected, handle)`.
 *
 * Metrics: `sio_connect_time`, `sio_connected`, `sio_connect_errors{code}`,
 * `sio_unexpected_disconnects{reason}` (a connected socket lost without `close()`).
 */
export function openSocket(options) {
  const tags = options.tags || {};
  const startedAt = Date.now();
  const ws = new WebSocket(websocketUrl(options.baseUrl), null, {
    headers: options.headers || {},
    tags,
  });
  const handle = {
    ws,
    node: options.node || 0,
    connected: false,
    everConnected: false,
    closing: false,
    client: undefined,
    socket: undefined,
    close() {
      handle.closing = true;
      if (handle.client.state === "closed") ws.close();
      else handle.client.close();
    },
  };
  const client = new SioClient({
    send: (text) => ws.send(text),
    close: () => ws.close(),
    timers: k6Timers,
    onError: () => metrics.protocolErrors.add(1, tags),
    onClose: () => {
      if (!handle.everConnected && !handle.refused) {
        metrics.connectErrors.add(1, { ...tags, code: "TRANSPORT" });
        const err = new Error("the connection closed before the namespace connected");
        err.data = { code: "TRANSPORT", message: err.message };
        if (options.onConnectError) options.onConnectError(err, handle);
      }
    },
  });
  handle.client = client;
  ws.onmessage = (event) => {
    if (typeof event.data === "string") client.onText(event.data);
  };
  ws.onclose = () => client.onTransportClose("transport close");
  ws.onerror = () => client.onTransportClose("transport error");

  const socket = client.socket(options.nsp);
  handle.socket = socket;
  socket.on("connect", () => {
    handle.connected = true;
    handle.everConnected = true;
    metrics.connectTime.add(Date.now() - startedAt, tags);
    metrics.connected.add(1, tags);
    if (options.onConnect) options.onConnect(handle);
  });
  socket.on("connect_error", (err) => {
    handle.refused = true;
    const code = err.data?.code ? String(err.data.code) : "UNKNOWN";
    metrics.connectErrors.add(1, { ...tags, code });
    handle.close();
    if (options.onConnectError) options.onConnectError(err, handle);
  });
  socket.on("disconnect", (reason) => {
    handle.connected = false;
    const expected = handle.closing;
    if (!expected) metrics.unexpectedDisconnects.add(1, { ...tags, reason });
    if (options.onDisconnect) options.onDisconnect(reason, expected, handle);
  });
  socket.connect({ token: options.token });
  return handle;
}

/** Counts an ack into the metrics; returns the response when it is a success. */
export function recordAck(err, response, rttMs, tags) {
  if (err) {
    if (err.code === "ACK_TIMEOUT") metrics.ackTimeouts.add(1, tags);
    else metrics.ackErrors.add(1, { ...tags, code: err.code });
    return undefined;
  }
  if (response?.status !== "success") {
    metrics.ackErrors.add(1, { ...tags, code: response ? String(response.code) : "EMPTY" });
    return undefined;
  }
  metrics.acks.add(1, tags);
  metrics.ackLatency.add(rttMs, tags);
  return response;
}

/**
 * `join_session` with optional `lastSeq`; `done(result | undefined)`. The result is the ack:
 * `{ headSeq, messages?, hasMore? }`.
 */
export function joinSession(handle, sessionId, lastSeq, timeoutMs, done) {
  const payload = { sessionId };
  if (lastSeq !== undefined && lastSeq !== null) payload.lastSeq = lastSeq;
  handle.socket.request("join_session", payload, { timeoutMs }, (err, res, rtt) => {
    done(recordAck(err, res, rtt, { event: "join_session" }));
  });
}

let sentCount = 0;

/**
 * Sends one chat message over the socket, stamped with the sender's clock (`timestamp`) and
 * node index (`metadata.node`) so receivers can measure latency and tell cross-node deliveries.
 * `done(ack | undefined)` when the ack (or its timeout) arrives.
 */
export function sendChatMessage(handle, sessionId, config, extra, done) {
  sentCount++;
  const vu = exec.vu.idInTest;
  const message = chatMessage(
    safeId(config.runId, vu, sentCount),
    sessionId,
    extra?.content || `load ${sentCount} from vu ${vu}`,
    { node: handle.node },
  );
  metrics.messagesSent.add(1);
  handle.socket.request("message", message, { timeoutMs: config.ackTimeoutMs }, (err, res, rtt) => {
    const ack = recordAck(err, res, rtt, { event: "message" });
    if (done) done(ack);
  });
  return message;
}

/**
 * Records every `message` this socket receives: `message_latency` (tagged `cross: yes|no`, and
 * `scenario` by k6), `sio_messages_received`, duplicates by `(sessionId, seq)` when a tracker is
 * given. `onMessage(message, latencyMs)` runs after.
 */
export function trackMessages(handle, trackers, onMessage) {
  handle.socket.on("message", (message) => {
    const latency = Date.now() - message.timestamp;
    const from = message.metadata ? message.metadata.node : undefined;
    const cross = from !== undefined && from !== handle.node ? "yes" : "no";
    const tracker = trackers ? trackers[message.sessionId] : undefined;
    if (tracker && !tracker.add(message.seq)) {
      metrics.duplicates.add(1);
      return;
    }
    metrics.messageLatency.add(latency, { cross });
    metrics.messagesReceived.add(1);
    if (onMessage) onMessage(message, latency);
  });
}

/** A new SeqTracker; re-exported so scenarios import one module. */
export function seqTracker(afterSeq) {
  return new SeqTracker(afterSeq);
}

/** Wall-clock ms since the scenario started (k6/execution). */
export function scenarioElapsed() {
  return Date.now() - exec.scenario.startTime;
}

/** Runs `fn` at `atMs` after the scenario start (now, if that has passed). */
export function atScenarioTime(atMs, fn) {
  return setTimeout(fn, Math.max(0, atMs - scenarioElapsed()));
}

/**
 * Setup for scenarios that work in session groups: `count` sessions, each with its own agent
 * and user principal as members (`AGENT_TOKEN`/`USER_TOKEN` make every group share theirs).
 * Returns `[{ sessionId, agent: { token, sub }, user: { token, sub } }]`, JSON-safe for k6's
 * setup data.
 */
export function setupGroups(config, count, prefix) {
  const groups = [];
  for (let g = 0; g < count; g++) {
    const agent = tokenFor(config, safeId(prefix, config.runId, "a", g), "agent");
    const user = tokenFor(config, safeId(prefix, config.runId, "u", g), "user");
    const session = createSession(config, agent.token, [user.sub], `${prefix} ${g}`);
    groups.push({ sessionId: session.id, agent, user });
  }
  return groups;
}

/**
 * `sync` from `afterSeq` until `hasMore` is false, 500 at a time: `onMessages(messages)` per
 * page, then `done(headSeq)`, or `done(undefined)` when an ack fails.
 */
export function syncAll(handle, sessionId, afterSeq, timeoutMs, onMessages, done) {
  const payload = { sessionId, afterSeq, limit: 500 };
  handle.socket.request("sync", payload, { timeoutMs }, (err, res, rtt) => {
    const page = recordAck(err, res, rtt, { event: "sync" });
    if (!page) return done(undefined);
    onMessages(page.messages);
    const last = page.messages.length > 0 ? page.messages[page.messages.length - 1].seq : afterSeq;
    if (page.hasMore && last > afterSeq) {
      syncAll(handle, sessionId, last, timeoutMs, onMessages, done);
    } else {
      done(page.headSeq);
    }
  });
}
