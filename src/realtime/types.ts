import type { Namespace, Server, Socket } from "socket.io";
import type { FanoutBatch } from "../cluster/bus.js";
import type { Principal } from "../messaging/index.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../protocol/index.js";

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
