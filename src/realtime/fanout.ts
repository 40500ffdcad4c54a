/**
 * The socket-facing side of the fan-out: a batch (from this node or another) is emitted to this
 * node's sockets in each session's room of both namespaces; batching, ordering and what was
 * delivered live in the cluster fan-out.
 */
import { createAdapterBus } from "../cluster/adapter-bus.js";
import { FANOUT_EVENT, type FanoutBatch } from "../cluster/bus.js";
import { createFanout as createClusterFanout, type Fanout } from "../cluster/fanout.js";
import { principalRoom, sessionRoom } from "../cluster/rooms.js";
import type { NodeStreams } from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { ReceiptEvent } from "../protocol/index.js";
import { createStreamEmitter } from "./stream-emit.js";
import type { GatewayNamespace, GatewayServer } from "./types.js";

export type { Fanout };

export function createFanout(
  io: GatewayServer,
  namespaces: GatewayNamespace[],
  metrics: Metrics,
  logger: Logger,
  streams: NodeStreams,
  /** Presence items from other nodes (presence.ts). */
  onPresence?: (items: NonNullable<FanoutBatch["presence"]>) => void,
  /** Receipts from any node, so this node's answers include them. */
  onReceipt?: (event: ReceiptEvent) => void,
): Fanout {
  const emitStream = createStreamEmitter(namespaces);
  // Streams that expire here without their owner (a dead node, a function) reach only these
  // sockets: every node expires them for itself.
  streams.setLocalEmitter((relay) => emitStream(relay));
  /** This node's sockets in a session's room, except the sending socket when there is one. */
  const localRoom = (nsp: GatewayNamespace, sessionId: string, exceptSocketId?: string) => {
    const target = nsp.local.to(sessionRoom(sessionId));
    return exceptSocketId ? target.except(exceptSocketId) : target;
  };

  function deliver(batch: FanoutBatch, exceptSocketId?: string) {
    // Before the messages: a stream's last deltas precede its final message.
    for (const relay of batch.streams ?? []) {
      for (const event of streams.accept(relay)) emitStream(event, exceptSocketId);
    }
    for (const message of batch.messages ?? []) {
      streams.messageStored(message.id, message.sessionId, message.senderId);
      for (const nsp of namespaces) {
        localRoom(nsp, message.sessionId, exceptSocketId).emit("message", message);
        metrics.messagesOut.inc({ namespace: nsp.name });
      }
      metrics.socket.messages_sent++;
    }
    for (const update of batch.contexts ?? []) {
      for (const nsp of namespaces) {
        localRoom(nsp, update.sessionId, exceptSocketId).emit("context:update", update);
      }
    }
    for (const head of batch.heads ?? []) {
      for (const nsp of namespaces) localRoom(nsp, head.sessionId).emit("session:head", head);
    }
    for (const typing of batch.typing ?? []) {
      for (const nsp of namespaces) {
        localRoom(nsp, typing.sessionId, exceptSocketId).emit("typing", typing);
      }
    }
    if (batch.presence) onPresence?.(batch.presence);
    for (const receipt of batch.receipts ?? []) {
      onReceipt?.(receipt);
      // The member's own sockets too: another tab or device of theirs learns what was read.
      for (const nsp of namespaces) localRoom(nsp, receipt.sessionId).emit("receipt", receipt);
    }
    for (const change of batch.members ?? []) {
      const { member } = change;
      if (change.change === "removed") streams.memberRemoved(member.sessionId, member.principalId);
      for (const nsp of namespaces) {
        const own = nsp.local.to(principalRoom(member.principalId));
        if (change.change === "added") {
          localRoom(nsp, member.sessionId).emit("member:added", member);
          own.emit("session:added", { session: change.session });
        } else {
          localRoom(nsp, member.sessionId).emit("member:removed", member);
          own.emit("session:removed", { sessionId: member.sessionId });
        }
      }
    }
  }

  return createClusterFanout({
    bus: createAdapterBus({
      adapter: io.of("/").adapter,
      serverSideEmit: (batch) => io.serverSideEmit(FANOUT_EVENT, batch),
      onServerSideEmit: (handler) => io.on(FANOUT_EVENT, handler),
    }),
    deliver,
    onBadBatch: (err) => logger.warn({ err }, "bad fan-out batch from another node"),
  });
}
