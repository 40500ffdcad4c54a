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

/** This node's sockets of `nsp` in the session's room that belong to the audience. */
function audienceSockets(nsp: GatewayNamespace, sessionId: string, audience: readonly string[]) {
  const rooms = nsp.adapter.rooms;
  const inSession = rooms.get(sessionRoom(sessionId));
  const ids: string[] = [];
  if (!inSession) return ids;
  for (const principalId of audience) {
    for (const id of rooms.get(principalRoom(principalId)) ?? []) {
      if (inSession.has(id)) ids.push(id);
    }
  }
  return ids;
}

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
  if (audience === undefined) {
    const target = nsp.local.to(sessionRoom(sessionId));
    return exceptSocketId ? target.except(exceptSocketId) : target;
  }
  const ids = audienceSockets(nsp, sessionId, audience).filter((id) => id !== exceptSocketId);
  return ids.length > 0 ? nsp.local.to(ids) : undefined;
}

/**
 * The rest of the session's room on this node: those who must not get an item with `audience`,
 * told instead that its seq is not for them (`message:hidden`), so they skip it at once rather
 * than wait for it and ask `sync`. Undefined for an item everyone gets.
 */
export function localOthers(
  nsp: GatewayNamespace,
  sessionId: string,
  audience: Audience,
): LocalTarget | undefined {
  if (audience === undefined) return undefined;
  return nsp.local.to(sessionRoom(sessionId)).except(audienceSockets(nsp, sessionId, audience));
}
