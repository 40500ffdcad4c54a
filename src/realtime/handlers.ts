/**
 * The client events of PROTOCOL.md section 4, each a thin call into the messaging core. Built
 * once per namespace and shared by its sockets: a socket carries no handler closures.
 */

import { z } from "zod";
import type { Fanout } from "../cluster/fanout.js";
import { sessionRoom } from "../cluster/rooms.js";
import type { Messaging, NodeStreams } from "../messaging/index.js";
import {
  type ClientEventName,
  ContextGetPayload,
  ContextUpdatePayload,
  GatewayError,
  JoinSessionPayload,
  LeaveSessionPayload,
  MessageInput,
  ReceiptPayload,
  StreamAbortPayload,
  StreamDeltaPayload,
  StreamEndPayload,
  StreamStartPayload,
  SyncPayload,
  TypingPayload,
} from "../protocol/index.js";
import { type AckDeps, defineEvent, type EventRunner } from "./ack.js";
import type { PresenceTracker } from "./presence.js";
import { queueRead } from "./read-queue.js";
import { openStreamsFor } from "./stream-emit.js";
import type { GatewaySocket } from "./types.js";
import type { TypingRelay } from "./typing.js";

/** Messages returned by `join_session` with `lastSeq`; the rest come through `sync`. */
export const JOIN_CATCH_UP_LIMIT = 100;

export function createHandlers(
  deps: AckDeps & {
    messaging: Messaging;
    namespace: string;
    typing: TypingRelay;
    /** What this node's sockets know of each session's head (receipts need no read up to it). */
    heads: () => Fanout["heads"];
    presence: PresenceTracker;
    streams: NodeStreams;
    /** The socket is gone: what it alone kept open ends (server.ts). */
    onGone(socket: GatewaySocket): void;
  },
): Map<ClientEventName, EventRunner> {
  const { messaging, metrics, typing, presence, streams } = deps;
  const handlers = new Map<ClientEventName, EventRunner>();

  handlers.set(
    "join_session",
    defineEvent(
      deps,
      "join_session",
      JoinSessionPayload,
      async ({ sessionId, lastSeq }, socket) => {
        const principal = socket.data.principal;
        const access = await messaging.requireMember(principal, sessionId);
        // Join before reading, so a message committed in between arrives live (perhaps twice,
        // which clients deduplicate by seq) rather than falling into a gap.
        await socket.join(sessionRoom(sessionId));
        // A removal between the check and the join found this socket outside the room and could
        // not take it out: check again now that it is in, and leave if it is no longer a member.
        try {
          await messaging.requireMember(principal, sessionId);
        } catch (err) {
          await socket.leave(sessionRoom(sessionId));
          throw err;
        }
        const receipts = await messaging.sessionReceipts(sessionId);
        deps.heads().seen(sessionId, access.headSeq);
        presence.joined(socket, sessionId);
        // The list is read as the ack leaves, so a `presence` event this socket got before the
        // ack is in it, and every later change arrives after it.
        // The open streams are read last, with nothing awaited before the ack leaves: a delta
        // emitted after this arrives after the ack, one emitted before is in `content`.
        if (lastSeq === undefined) {
          return {
            sessionId,
            headSeq: access.headSeq,
            receipts,
            presence: presence.list(sessionId),
            streams: openStreamsFor(streams, sessionId, principal),
          };
        }
        const page = await queueRead(socket, () =>
          messaging.readMessages(socket.data.principal, sessionId, lastSeq, JOIN_CATCH_UP_LIMIT),
        );
        deps.heads().seen(sessionId, page.headSeq);
        return {
          sessionId,
          headSeq: page.headSeq,
          messages: page.messages,
          hasMore: page.hasMore,
          receipts,
          presence: presence.list(sessionId),
          streams: openStreamsFor(streams, sessionId, principal),
        };
      },
    ),
  );

  handlers.set(
    "leave_session",
    defineEvent(deps, "leave_session", LeaveSessionPayload, async ({ sessionId }, socket) => {
      await socket.leave(sessionRoom(sessionId));
      typing.left(socket, sessionId);
      return { sessionId };
    }),
  );

  /** A message stored from a socket (`message` or `stream:end`): counted, and typing ended. */
  function stored<R extends { duplicate: boolean }>(
    result: R,
    socket: GatewaySocket,
    sessionId: string,
  ): R {
    if (!result.duplicate) {
      metrics.messagesIn.inc({ namespace: deps.namespace });
      metrics.socket.messages_received++;
    }
    typing.messageSent(socket.data.principal.id, sessionId);
    return result;
  }

  handlers.set(
    "message",
    defineEvent(deps, "message", MessageInput, async (input, socket) => {
      const result = await messaging.sendMessage(socket.data.principal, input, {
        socketId: socket.id,
      });
      return stored(result, socket, input.sessionId);
    }),
  );

  handlers.set(
    "sync",
    defineEvent(deps, "sync", SyncPayload, async (input, socket) => {
      const { sessionId, afterSeq, beforeSeq, limit } = input;
      const page = await queueRead(socket, () =>
        beforeSeq === undefined
          ? messaging.readMessages(socket.data.principal, sessionId, afterSeq ?? 0, limit)
          : messaging.readMessagesBefore(socket.data.principal, sessionId, beforeSeq, limit),
      );
      // Only for a joined socket: the head tracker forgets sessions no socket here is in.
      if (socket.rooms.has(sessionRoom(sessionId))) deps.heads().seen(sessionId, page.headSeq);
      return { sessionId, ...page };
    }),
  );

  handlers.set(
    "context:update",
    defineEvent(deps, "context:update", ContextUpdatePayload, (input, socket) =>
      messaging.updateContext(socket.data.principal, input, { socketId: socket.id }),
    ),
  );

  handlers.set(
    "context:get",
    defineEvent(
      deps,
      "context:get",
      ContextGetPayload,
      async ({ sessionId, contextId }, socket) => ({
        contexts: await messaging.getContexts(socket.data.principal, sessionId, contextId),
      }),
    ),
  );

  handlers.set(
    "typing",
    defineEvent(deps, "typing", TypingPayload, ({ sessionId, state }, socket) => {
      // The room stands for the membership join_session checked: no query per keystroke.
      if (!socket.rooms.has(sessionRoom(sessionId))) {
        throw new GatewayError("FORBIDDEN", "Join the session before sending typing for it");
      }
      typing.set(socket, sessionId, state);
      return { sessionId };
    }),
  );

  handlers.set(
    "receipt",
    defineEvent(deps, "receipt", ReceiptPayload, (input, socket) => {
      // A joined socket is a member (a removal takes it out of the room), and a seq up to what
      // this node's sockets know exists needs no read; anything else is checked in the table.
      const member = socket.rooms.has(sessionRoom(input.sessionId));
      return messaging.receipt(socket.data.principal, input, {
        member,
        headSeq: member ? deps.heads().highest(input.sessionId) : 0,
      });
    }),
  );

  handlers.set(
    "stream:start",
    defineEvent(deps, "stream:start", StreamStartPayload, async (input, socket) => {
      const result = await streams.start(socket.data.principal, input, { socketId: socket.id });
      // Gone while the database answered: its disconnect found no stream to abort.
      if (!socket.connected) deps.onGone(socket);
      return result;
    }),
  );

  handlers.set(
    "stream:delta",
    defineEvent(deps, "stream:delta", StreamDeltaPayload, (input, socket) =>
      streams.deltas(
        socket.data.principal,
        input.sessionId,
        input.id,
        [{ index: input.index, delta: input.delta }],
        { socketId: socket.id },
      ),
    ),
  );

  handlers.set(
    "stream:end",
    defineEvent(deps, "stream:end", StreamEndPayload, async (input, socket) => {
      const result = await streams.end(socket.data.principal, input, { socketId: socket.id });
      return stored(result, socket, input.sessionId);
    }),
  );

  handlers.set(
    "stream:abort",
    defineEvent(deps, "stream:abort", StreamAbortPayload, (input, socket) =>
      streams.abort(socket.data.principal, input, { socketId: socket.id }),
    ),
  );

  // `ping` takes anything (PROTOCOL.md section 4).
  handlers.set(
    "ping",
    defineEvent(deps, "ping", z.unknown(), () => ({ serverTime: Date.now() })),
  );

  return handlers;
}
