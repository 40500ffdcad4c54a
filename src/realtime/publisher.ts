/**
 * Broadcasts committed changes to room `session_<id>` in both namespaces, on every node (through
 * the cluster adapter). Member removal makes that principal's sockets leave the room everywhere:
 * every socket joins `principal_<id>` at connect, so the removal is one adapter operation.
 */
import type { Publisher } from "../messaging/index.js";
import type { Metrics } from "../observability/metrics.js";
import { sessionRoom } from "../protocol/index.js";
import type { GatewayNamespace } from "./types.js";

export function principalRoom(principalId: string): string {
  return `principal_${principalId}`;
}

export function createSocketPublisher(namespaces: GatewayNamespace[], metrics: Metrics): Publisher {
  return {
    message(message, exceptSocketId) {
      const room = sessionRoom(message.sessionId);
      for (const nsp of namespaces) {
        const target = exceptSocketId ? nsp.to(room).except(exceptSocketId) : nsp.to(room);
        target.emit("message", message);
        metrics.messagesOut.inc({ namespace: nsp.name });
      }
      metrics.socket.messages_sent++;
    },
    context(update, exceptSocketId) {
      const room = sessionRoom(update.sessionId);
      for (const nsp of namespaces) {
        const target = exceptSocketId ? nsp.to(room).except(exceptSocketId) : nsp.to(room);
        target.emit("context:update", update);
      }
    },
    head(head) {
      for (const nsp of namespaces) nsp.to(sessionRoom(head.sessionId)).emit("session:head", head);
    },
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
