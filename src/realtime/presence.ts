/**
 * Presence on a node with sockets: which of this node's sockets have joined which session, turned
 * into the node's entries of the cluster's presence mesh (cluster/presence.ts), and the mesh's
 * changes emitted as `presence` to this node's sockets in the session's room, both namespaces.
 *
 * A socket counts from the moment `join_session` has checked its membership; it stops counting
 * when it leaves the room however that happens (leave_session, disconnect, a member removal on
 * any node), which the namespace adapter reports as `leave-room`, so no path is missed.
 */
import { randomBytes } from "node:crypto";
import type { Fanout } from "../cluster/fanout.js";
import { createPresenceMesh, type PresenceWire } from "../cluster/presence.js";
import { sessionOfRoom, sessionRoom } from "../cluster/rooms.js";
import type { PresenceEntry } from "../protocol/index.js";
import type { GatewayNamespace, GatewaySocket } from "./types.js";

/** Default milliseconds after which a silent node's principals go offline. */
export const PRESENCE_NODE_TIMEOUT_MS = 20_000;

export interface PresenceTracker {
  /** The socket has joined the session's room and its membership is checked. */
  joined(socket: GatewaySocket, sessionId: string): void;
  /** Who is online in the session now, on any node. */
  list(sessionId: string): PresenceEntry[];
  /** Presence items from another node. */
  receive(items: PresenceWire[]): void;
  start(): void;
  /** Asks the other nodes for their state again (after the cluster listener came back). */
  resync(): void;
  stop(): void;
}

export interface PresenceTrackerOptions {
  nodeId: string;
  namespaces: GatewayNamespace[];
  fanout: () => Fanout;
  /** The display name to announce for a socket's principal. */
  nameOf(socket: GatewaySocket): string;
  timeoutMs?: number;
}

interface Joined {
  principalId: string;
  sessions: Set<string>;
}

export function createPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  const { namespaces } = options;
  const mesh = createPresenceMesh({
    instance: `${options.nodeId}#${randomBytes(6).toString("base64url")}`,
    publish: (item) => options.fanout().presence(item),
    onChange(event) {
      for (const nsp of namespaces)
        nsp.local.to(sessionRoom(event.sessionId)).emit("presence", event);
    },
    timeoutMs: options.timeoutMs ?? PRESENCE_NODE_TIMEOUT_MS,
  });
  /** Local sockets per (session, principal). */
  const sockets = new Map<string, Set<string>>();
  /** What each local socket counts for. */
  const bySocket = new Map<string, Joined>();
  const keyOf = (sessionId: string, principalId: string) => `${sessionId}\n${principalId}`;

  function left(room: string, socketId: string) {
    const sessionId = sessionOfRoom(room);
    const joined = sessionId === undefined ? undefined : bySocket.get(socketId);
    if (sessionId === undefined || !joined?.sessions.delete(sessionId)) return;
    if (joined.sessions.size === 0) bySocket.delete(socketId);
    const key = keyOf(sessionId, joined.principalId);
    const set = sockets.get(key);
    set?.delete(socketId);
    if (set?.size === 0) {
      sockets.delete(key);
      mesh.localOffline(sessionId, joined.principalId);
    }
  }

  for (const nsp of namespaces) nsp.adapter.on("leave-room", left);

  return {
    joined(socket, sessionId) {
      // A disconnect or removal during the join's awaits has already passed `leave-room`.
      if (socket.connected && socket.rooms.has(sessionRoom(sessionId))) {
        const { principal } = socket.data;
        let joined = bySocket.get(socket.id);
        if (!joined) {
          joined = { principalId: principal.id, sessions: new Set() };
          bySocket.set(socket.id, joined);
        }
        joined.sessions.add(sessionId);
        const key = keyOf(sessionId, principal.id);
        let set = sockets.get(key);
        if (!set) {
          set = new Set();
          sockets.set(key, set);
        }
        set.add(socket.id);
        if (set.size === 1) {
          mesh.localOnline(sessionId, principal.id, principal.kind, options.nameOf(socket));
        }
      }
    },
    list: (sessionId) => mesh.list(sessionId),
    receive: (items) => mesh.receive(items),
    start: () => mesh.start(),
    resync: () => mesh.resync(),
    stop: () => mesh.stop(),
  };
}
