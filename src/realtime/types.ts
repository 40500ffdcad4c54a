import type { Namespace, Server, Socket } from "socket.io";
import type { FanoutBatch } from "../cluster/bus.js";
import type { Principal } from "../messaging/index.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../protocol/index.js";
import type { PrincipalLease } from "./principal-limits.js";
import type { TokenBucket } from "./rate-limit.js";

/** Events between nodes (serverSideEmit), besides the adapter's own. */
export type InterServerEvents = {
  /** Committed changes from another node, for this node's sockets (see cluster/fanout.ts). */
  "tkr:fanout": (batch: FanoutBatch) => void;
};

/** What a socket carries after the auth middleware. */
export interface SocketData {
  principal: Principal;
  /** Token expiry in ms since epoch, when the token has one. */
  expiresAt: number | undefined;
  connectedAt: number;
  /**
   * Per-socket limits state, kept as a few fields allocated on first use rather than objects
   * with closures on every socket (see server.ts `onConnection`).
   */
  lease?: PrincipalLease | undefined;
  bucket?: TokenBucket | undefined;
  /** RATE_LIMITED answers held back by refusal-pacer.ts. */
  heldRefusals?: number;
  /** The history read last queued (read-queue.ts), while one is queued or running. */
  reads?: Promise<void> | undefined;
  /** When the socket last sent an oversized event (frame-guard.ts). */
  lastOffence?: number;
}

/** Server-to-client events (PROTOCOL.md section 5, with `gateway:error`). */
export type GatewayServerEvents = ServerToClientEvents;

export type GatewayServer = Server<
  ClientToServerEvents,
  GatewayServerEvents,
  InterServerEvents,
  SocketData
>;
export type GatewayNamespace = Namespace<
  ClientToServerEvents,
  GatewayServerEvents,
  InterServerEvents,
  SocketData
>;
export type GatewaySocket = Socket<
  ClientToServerEvents,
  GatewayServerEvents,
  InterServerEvents,
  SocketData
>;
