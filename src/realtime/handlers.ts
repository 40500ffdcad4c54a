/**
 * The client events of PROTOCOL.md section 4, each a thin call into the messaging core.
 */

import { z } from "zod";
import { sessionRoom } from "../cluster/rooms.js";
import type { Messaging } from "../messaging/index.js";
import {
  ContextGetPayload,
  ContextUpdatePayload,
  JoinSessionPayload,
  LeaveSessionPayload,
  MessageInput,
  SyncPayload,
} from "../protocol/index.js";
import { type AckDeps, handle } from "./ack.js";
import { ReadQueue } from "./read-queue.js";
import type { GatewaySocket } from "./types.js";

/** Messages returned by `join_session` with `lastSeq`; the rest come through `sync`. */
export const JOIN_CATCH_UP_LIMIT = 100;

export function registerHandlers(
  deps: AckDeps & { messaging: Messaging; namespace: string },
  socket: GatewaySocket,
) {
  const { messaging, metrics } = deps;
  const principal = () => socket.data.principal;
  const reads = new ReadQueue(() => socket.connected);

  handle(deps, socket, "join_session", JoinSessionPayload, async ({ sessionId, lastSeq }) => {
    const access = await messaging.requireMember(principal(), sessionId);
    // Join before reading, so a message committed in between arrives live (perhaps twice, which
    // clients deduplicate by seq) rather than falling into a gap.
    await socket.join(sessionRoom(sessionId));
    if (lastSeq === undefined) return { sessionId, headSeq: access.headSeq };
    const page = await reads.run(() =>
      messaging.readMessages(principal(), sessionId, lastSeq, JOIN_CATCH_UP_LIMIT),
    );
    return { sessionId, headSeq: page.headSeq, messages: page.messages, hasMore: page.hasMore };
  });

  handle(deps, socket, "leave_session", LeaveSessionPayload, async ({ sessionId }) => {
    await socket.leave(sessionRoom(sessionId));
    return { sessionId };
  });

  handle(deps, socket, "message", MessageInput, async (input) => {
    const result = await messaging.sendMessage(principal(), input, { socketId: socket.id });
    if (!result.duplicate) {
      metrics.messagesIn.inc({ namespace: deps.namespace });
      metrics.socket.messages_received++;
    }
    return result;
  });

  handle(deps, socket, "sync", SyncPayload, async ({ sessionId, afterSeq, limit }) => {
    const page = await reads.run(() =>
      messaging.readMessages(principal(), sessionId, afterSeq, limit),
    );
    return { sessionId, ...page };
  });

  handle(deps, socket, "context:update", ContextUpdatePayload, (input) =>
    messaging.updateContext(principal(), input, { socketId: socket.id }),
  );

  handle(deps, socket, "context:get", ContextGetPayload, async ({ sessionId, contextId }) => ({
    contexts: await messaging.getContexts(principal(), sessionId, contextId),
  }));

  // `ping` takes anything (PROTOCOL.md section 4).
  handle(deps, socket, "ping", z.unknown(), () => ({ serverTime: Date.now() }));
}
