/**
 * Where a broadcast goes on this node: the session's room, or, for an item with an audience
 * (a direct message or stream, a targeted context; see messaging/audience.ts), only the sockets
 * of those principals that are in the session's room. Every socket is in its principal's room
 * from connect, so this is a walk over the audience's own sockets: no database read, and the
 * packet is still encoded once for all of them.
 */
import type { BroadcastOperator } from "socket.io";
import { principalRoom, sessionRoom } from "../cluster/rooms.js";
import type { Audience } from "../messaging/audience.js";
import type { GatewayNamespace, GatewayServerEvents, SocketData } from "./types.js";

export type LocalTarget = BroadcastOperator<GatewayServerEvents, SocketData>;

/**
 * This node's sockets of `nsp` that may get an item of session `sessionId` with `audience`,
 * except `exceptSocketId`; undefined when there are none (an empty `to([])` would mean everyone).
 */
export function localAudience(
  nsp: GatewayNamespace,
  sessionId: string,
  audience: Audience,
  exceptSocketId?: string,
): LocalTarget | undefined {
  const room = sessionRoom(sessionId);
  if (audience === undefined) {
    const target = nsp.local.to(room);
    return exceptSocketId ? target.except(exceptSocketId) : target;
  }
  const rooms = nsp.adapter.rooms;
  const inSession = rooms.get(room);
  if (!inSession) return undefined;
  const ids: string[] = [];
  for (const principalId of audience) {
    for (const id of rooms.get(principalRoom(principalId)) ?? []) {
      if (id !== exceptSocketId && inSession.has(id)) ids.push(id);
    }
  }
  return ids.length > 0 ? nsp.local.to(ids) : undefined;
}
