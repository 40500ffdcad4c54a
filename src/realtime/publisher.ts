/**
 * The messaging core's Publisher for a node with sockets: changes go through the fan-out (local
 * sockets at once, other nodes in batches). Member removal makes that principal's sockets leave
 * the room everywhere: every socket joins `principal_<id>` at connect, so the removal is one
 * adapter operation.
 */
import { principalRoom, sessionRoom } from "../cluster/rooms.js";
import type { Publisher } from "../messaging/index.js";
import type { Fanout } from "./fanout.js";
import type { GatewayNamespace } from "./types.js";

export function createSocketPublisher(namespaces: GatewayNamespace[], fanout: Fanout): Publisher {
  return {
    message: (message, exceptSocketId) => fanout.message(message, exceptSocketId),
    context: (update, exceptSocketId) => fanout.context(update, exceptSocketId),
    head: (head) => fanout.head(head),
    membership: (change) => fanout.membership(change),
    stream: (relays, exceptSocketId) => fanout.stream(relays, exceptSocketId),
    receipt: (event) => fanout.receipt(event),
    memberRemoved(sessionId, principalId) {
      const room = sessionRoom(sessionId);
      for (const nsp of namespaces) {
        // The cluster adapter applies a removal locally only after its NOTIFY round trip; apply
        // it here first so this node's sockets leave before the caller gets its answer.
        nsp.local.in(principalRoom(principalId)).socketsLeave(room);
        nsp.in(principalRoom(principalId)).socketsLeave(room);
      }
    },
  };
}
