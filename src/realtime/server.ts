/**
 * `createRealtimeServer(httpServer, deps)`: Socket.IO on the gateway's Node server, namespaces
 * `/agents` and `/clients`, the root namespace refusing everyone, the cluster adapter, the
 * connection audit, and a graceful drain.
 */
import type { Server as HttpServer } from "node:http";
import type { Socket as EngineSocket } from "engine.io";
import type pg from "pg";
import { Server } from "socket.io";
import type { TokenVerifier } from "../auth/tokens.js";
import { type Cluster, createCluster } from "../cluster/adapter.js";
import { principalRoom } from "../cluster/rooms.js";
import type { Messaging, NodeStreams, Principal, Publisher } from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type ClientEventName, NAMESPACES, type NamespaceName } from "../protocol/index.js";
import { type EventRunner, InflightTracker, refuse } from "./ack.js";
import { createAuditWriter } from "./audit.js";
import { authMiddleware, connectError } from "./auth.js";
import { outgoingLimit } from "./backpressure.js";
import { partialBinaryLimit } from "./binary-deadline.js";
import { dropTransports, refuseHandshakes } from "./drop-transports.js";
import { ExpirySweep } from "./expiry.js";
import { createFanout } from "./fanout.js";
import { guardedParser, refuseOversized } from "./frame-guard.js";
import { createHandlers } from "./handlers.js";
import { createPositioning } from "./positioning.js";
import { createPresenceTracker } from "./presence.js";
import {
  createPrincipalGate,
  type PrincipalLimitOptions,
  PrincipalLimits,
} from "./principal-limits.js";
import { createSocketPublisher } from "./publisher.js";
import { perSecond, TokenBucket } from "./rate-limit.js";
import { paceRefusal } from "./refusal-pacer.js";
import { ConnectionStats } from "./stats.js";
import type { GatewayNamespace, GatewayServer, GatewaySocket } from "./types.js";
import { createTypingRelay } from "./typing.js";

export interface RealtimeDeps {
  messaging: Messaging;
  /** The node's open streams (messaging/streams.ts), shared with its HTTP routes. */
  streams: NodeStreams;
  tokens: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  /** Pool for the connection audit. */
  pool: pg.Pool;
  /** Direct URL of the Postgres primary, for the cluster adapter's LISTEN. */
  listenUrl: string;
  nodeId: string;
  region: string | undefined;
  corsOrigins: string[] | "*";
  maxContentBytes: number;
  /** Events per second one socket may send, sustained. Default 200. */
  rateLimitPerSecond?: number;
  /** Events one socket may send at once. Default 400. */
  rateLimitBurst?: number;
  /**
   * Sockets per principal on this node, and event and message rates shared by its sockets.
   * Default: 50 sockets, 1,000 events/s and 300 messages/s with bursts of twice that.
   */
  principalLimits?: PrincipalLimitOptions;
  /** Milliseconds between head positioning passes. Default 5,000. */
  headIntervalMs?: number;
  /** Engine.IO ping interval in ms. Default 25,000 (Socket.IO's). */
  pingIntervalMs?: number;
  /** Engine.IO ping timeout in ms. Default 20,000 (Socket.IO's). */
  pingTimeoutMs?: number;
  /** Bytes one connection may have queued for its client (backpressure.ts). Default 2 MiB. */
  maxBufferedBytes?: number;
  /** Milliseconds a binary packet may stay incomplete (binary-deadline.ts). Default 5,000. */
  binaryTimeoutMs?: number;
  /** Admit Engine.IO 3 clients (socket.io-client 2.x, python-socketio 4.x). Default false. */
  allowEIO3?: boolean;
  /** Milliseconds a typing `start` lasts without a refresh (typing.ts). Default 6,000. */
  typingTimeoutMs?: number;
  /** Milliseconds after which a silent node's principals go offline (presence.ts). Default 20,000. */
  presenceNodeTimeoutMs?: number;
  /** A principal's display name for presence. Default: its token's `name`, else its id. */
  nameOf?: (principal: Principal) => string;
}

export interface RealtimeServer {
  io: GatewayServer;
  namespaces: GatewayNamespace[];
  publisher: Publisher;
  cluster: Cluster;
  /** True while the cluster listener is up. */
  clusterReady(): boolean;
  /** Refuse new connections from now on (`UNAVAILABLE`); open sockets carry on. */
  drain(): void;
  /** Resolves when no event handler is running, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
  /** Writes buffered audit rows now (tests, admin tools); normally they go every second. */
  flushAudit(): Promise<void>;
  /** Closes every socket's transport (clients reconnect elsewhere), flushes the audit, closes. */
  close(): Promise<void>;
}

const DEFAULT_PRINCIPAL_LIMITS: PrincipalLimitOptions = {
  maxSockets: 50,
  events: perSecond(1_000),
  messages: perSecond(300),
};

export function createRealtimeServer(httpServer: HttpServer, deps: RealtimeDeps): RealtimeServer {
  const log = deps.logger.child({ module: "realtime" });
  const { metrics } = deps;
  const cluster = createCluster({
    url: deps.listenUrl,
    logger: deps.logger,
    metrics,
    nodeId: deps.nodeId,
    // The positioning cadence: a listener that went silent is then noticed as soon as a loss
    // would be, and the pass after it comes back tells every room its head.
    ...(deps.headIntervalMs ? { probeMs: deps.headIntervalMs } : {}),
  });
  const io: GatewayServer = new Server(httpServer, {
    path: "/socket.io",
    adapter: cluster.adapter,
    cors: { origin: deps.corsOrigins === "*" ? "*" : deps.corsOrigins },
    // Room for a maximal message (content can escape to ~6 bytes a char in JSON) plus envelope.
    maxHttpBufferSize: Math.max(1_000_000, deps.maxContentBytes * 2 + 65_536),
    pingInterval: deps.pingIntervalMs ?? 25_000,
    pingTimeout: deps.pingTimeoutMs ?? 20_000,
    serveClient: false,
    parser: guardedParser,
    allowEIO3: deps.allowEIO3 ?? false,
  });
  const stats = new ConnectionStats(metrics);
  const inflight = new InflightTracker();
  const audit = createAuditWriter({
    pool: deps.pool,
    nodeId: deps.nodeId,
    region: deps.region,
    logger: deps.logger,
  });
  let accepting = true;
  const principalGate = createPrincipalGate(
    new PrincipalLimits(deps.principalLimits ?? DEFAULT_PRINCIPAL_LIMITS),
    (code) => stats.refused(code),
  );

  const limitOutgoing = outgoingLimit({
    maxBytes: deps.maxBufferedBytes ?? 2_097_152,
    logger: log,
    metrics,
  });
  const limitPartialBinary = partialBinaryLimit({
    timeoutMs: deps.binaryTimeoutMs ?? 5_000,
    logger: log,
    metrics,
  });
  io.engine.on("connection", (conn: EngineSocket) => {
    limitOutgoing(conn);
    limitPartialBinary(conn);
  });
  io.engine.on("connection_error", (err: { code: number; message: string }) => {
    log.debug({ code: err.code, message: err.message }, "engine connection refused");
  });

  // The root namespace admits nobody (PROTOCOL.md section 2).
  io.use((_socket, next) =>
    next(
      connectError("FORBIDDEN", "The root namespace admits nobody; connect to /agents or /clients"),
    ),
  );

  const namespaces: GatewayNamespace[] = [];
  const typing = createTypingRelay(() => fanout, deps.typingTimeoutMs);
  for (const name of Object.keys(NAMESPACES) as NamespaceName[]) namespaces.push(io.of(name));
  const presence = createPresenceTracker({
    nodeId: deps.nodeId,
    namespaces,
    fanout: () => fanout,
    nameOf: ({ data: { principal } }) => deps.nameOf?.(principal) ?? principal.name ?? principal.id,
    ...(deps.presenceNodeTimeoutMs ? { timeoutMs: deps.presenceNodeTimeoutMs } : {}),
  });
  for (const nsp of namespaces) {
    const name = nsp.name as NamespaceName;
    nsp.use((_socket, next) =>
      accepting
        ? next()
        : next(connectError("UNAVAILABLE", "This node is shutting down; reconnect")),
    );
    nsp.use(authMiddleware(name, deps.tokens, (code) => stats.refused(code)));
    nsp.use(principalGate.middleware);
    const onEvent = eventDispatcher(
      createHandlers({
        logger: log,
        metrics,
        inflight,
        messaging: deps.messaging,
        namespace: name,
        typing,
        heads: () => fanout.heads,
        presence,
        streams: deps.streams,
        onGone: senderMayBeGone,
      }),
    );
    nsp.on("connection", (socket) => onConnection(name, socket, onEvent));
  }
  const fanout = createFanout(
    io,
    namespaces,
    metrics,
    log,
    deps.streams,
    (event) => deps.messaging.observeReceipt(event),
    (items) => presence.receive(items),
  );
  presence.start();
  const publisher = createSocketPublisher(namespaces, fanout);
  const positioning = createPositioning({
    pool: deps.pool,
    namespaces,
    fanout,
    logger: log,
    ...(deps.headIntervalMs ? { intervalMs: deps.headIntervalMs } : {}),
  });
  // NOTIFYs sent while the listener was down are lost for good: tell every local room its head.
  // Also runs when the listener first comes up: a starting node asks for presence and for the
  // streams opened before it, whose relays it never heard.
  cluster.onListenerRestored(() => {
    void positioning.run(true);
    presence.resync();
    deps.streams.resync();
  });

  // Everything below is shared by all sockets: a socket costs one bound middleware, a set entry
  // for its expiry and the state it actually uses (types.ts SocketData), not a set of closures.
  const rateLimitPerSecond = deps.rateLimitPerSecond ?? 200;
  const rateLimitBurst = deps.rateLimitBurst ?? 400;
  const guardDeps = { logger: log, metrics };
  const expiry = new ExpirySweep<GatewaySocket>((socket) => {
    socket.emit("gateway:error", {
      code: "AUTH_EXPIRED",
      message: "The token has expired; reconnect with a fresh one",
      retryable: false,
    });
    socket.disconnect(true);
  });

  /** The namespace's one middleware: frame guard, unknown events, rate limits, then the event. */
  function eventDispatcher(handlers: Map<ClientEventName, EventRunner>) {
    return function onEvent(this: GatewaySocket, event: unknown[], _next: () => void): void {
      // `next` is never called: the event is answered here, so no per-socket listeners exist.
      if (refuseOversized(this, event, guardDeps)) return;
      const name = event[0];
      const args = event.slice(1);
      const run = typeof name === "string" ? handlers.get(name as ClientEventName) : undefined;
      const data = this.data;
      let bucket = data.bucket;
      if (!bucket) {
        bucket = new TokenBucket(rateLimitPerSecond, rateLimitBurst);
        data.bucket = bucket;
      }
      if (!run) {
        // Unknown events pay the socket's bucket too: each answer costs the node a packet, and a
        // refused flood is dropped without one.
        if (!bucket.take()) {
          metrics.errors.inc({ code: "RATE_LIMITED", surface: "socket" });
          return;
        }
        metrics.errors.inc({ code: "INVALID_PAYLOAD", surface: "socket" });
        refuse(args, {
          status: "error",
          code: "INVALID_PAYLOAD",
          message: `Unknown event ${JSON.stringify(String(name)).slice(0, 80)}`,
          retryable: false,
        });
        return;
      }
      const lease = principalGate.lease(this);
      const eventName = name as ClientEventName;
      if (!bucket.take() || !lease.take(eventName)) {
        metrics.errors.inc({ code: "RATE_LIMITED", surface: "socket" });
        const wait = Math.max(bucket.waitSeconds(), lease.waitSeconds(eventName));
        paceRefusal(
          data,
          args,
          {
            status: "error",
            code: "RATE_LIMITED",
            message: "Too many events; back off",
            retryable: true,
          },
          wait * 1000,
        );
        return;
      }
      // As socket.io's own dispatch would: on the next tick, and not for a socket gone meanwhile.
      process.nextTick(runEvent, this, run, args);
    };
  }

  function onConnection(
    namespace: NamespaceName,
    socket: GatewaySocket,
    onEvent: (this: GatewaySocket, event: unknown[], next: () => void) => void,
  ) {
    const { principal, expiresAt } = socket.data;
    stats.connected(namespace, principal.id);
    void socket.join(principalRoom(principal.id));
    audit.connected({
      socketId: socket.id,
      namespace,
      principalId: principal.id,
      principalKind: principal.kind,
      remoteAddress: socket.handshake.address,
      userAgent: socket.handshake.headers["user-agent"],
      transport: socket.conn.transport.name,
      connectedAt: socket.data.connectedAt,
    });
    log.debug({ socket: socket.id, namespace, principal: principal.id }, "socket connected");
    socket.use(onEvent.bind(socket));
    socket.on("error", onSocketError);
    socket.on("disconnect", onDisconnect);
    if (expiresAt !== undefined) expiry.add(socket, expiresAt);
  }

  function onDisconnect(this: GatewaySocket, reason: string): void {
    const { principal, expiresAt } = this.data;
    const namespace = this.nsp.name;
    if (expiresAt !== undefined) expiry.delete(this, expiresAt);
    this.data.lease?.release();
    typing.disconnected(this.id);
    senderMayBeGone(this);
    stats.disconnected(namespace, principal.id, reason);
    audit.disconnected(this.id, reason);
    log.debug({ socket: this.id, namespace, reason }, "socket disconnected");
  }

  /**
   * A socket is gone: when it was its principal's last one on this node, the streams they opened
   * here abort (a principal is one kind, so one namespace holds all its sockets).
   */
  function senderMayBeGone(socket: GatewaySocket): void {
    const { principal } = socket.data;
    const left = socket.nsp.adapter.rooms.get(principalRoom(principal.id));
    if (!left || left.size === 0 || (left.size === 1 && left.has(socket.id))) {
      deps.streams.senderGone(principal.id);
    }
  }

  // Without a listener socket.io prints every protocol violation's stack to stderr.
  function onSocketError(this: GatewaySocket, err: Error): void {
    log.debug({ socket: this.id, err: err.message }, "socket error");
  }

  let closing: Promise<void> | undefined;
  return {
    io,
    namespaces,
    publisher,
    cluster,
    clusterReady: () => cluster.listening(),
    drain() {
      accepting = false;
    },
    settle: (timeoutMs) => inflight.settle(timeoutMs),
    flushAudit: () => audit.flush(),
    close() {
      closing ??= (async () => {
        accepting = false;
        // While draining, a handshake still gets through to the namespace's UNAVAILABLE; from
        // here on no Engine.IO session may start, or io.close() would end it with a CLOSE packet.
        refuseHandshakes(io.engine);
        positioning.stop();
        expiry.stop();
        // Before the sockets go: the others drop this node's presence at once, not at timeout.
        presence.stop();
        dropTransports(io.engine);
        await new Promise((resolve) => setImmediate(resolve));
        await audit.close();
        // io.close() would also wait for the HTTP server to close, which a browser's keep-alive
        // connection or a half-open peer holds open: the gateway closes that itself, after a grace.
        (io as unknown as { httpServer?: unknown }).httpServer = undefined;
        await io.close();
        // After the sockets are gone, so their streams' aborts went out to the other nodes.
        deps.streams.close();
        await cluster.close();
      })();
      return closing;
    },
  };
}

function runEvent(socket: GatewaySocket, run: EventRunner, args: unknown[]): void {
  if (socket.connected) run(socket, args);
}
