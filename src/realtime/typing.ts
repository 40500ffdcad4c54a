/**
 * Typing indicators (PROTOCOL.md `typing`). Nothing is stored: a `start` is relayed to the
 * session's other sockets and remembered here, on the sender's node, per (session, principal),
 * so that a `stop` reaches everyone even when the sender never sends one: after the timeout
 * without a refresh, on the sender's disconnect or leave, and when the principal sends a message.
 */
import type { Fanout } from "../cluster/fanout.js";
import type { TypingEvent } from "../protocol/index.js";
import type { GatewaySocket } from "./types.js";

/** How long a `start` lasts without a refresh. */
export const TYPING_TIMEOUT_MS = 6_000;

interface Typing {
  event: TypingEvent;
  socketId: string;
  timer: NodeJS.Timeout;
}

export interface TypingRelay {
  /** `socket` starts or stops typing in `sessionId` (membership already checked). */
  set(socket: GatewaySocket, sessionId: string, state: "start" | "stop"): void;
  /** The principal sent a message in the session: its typing ends. */
  messageSent(principalId: string, sessionId: string): void;
  /** The socket left the session: what it started there ends. */
  left(socket: GatewaySocket, sessionId: string): void;
  /** The socket is gone: everything it started ends. */
  disconnected(socketId: string): void;
}

export function createTypingRelay(
  fanout: () => Fanout,
  timeoutMs: number = TYPING_TIMEOUT_MS,
): TypingRelay {
  const active = new Map<string, Typing>();
  /** Keys each socket started, so a disconnect does not scan every typist. */
  const bySocket = new Map<string, Set<string>>();
  const keyOf = (sessionId: string, principalId: string) => `${sessionId}\n${principalId}`;

  function forget(key: string, typing: Typing) {
    clearTimeout(typing.timer);
    active.delete(key);
    const keys = bySocket.get(typing.socketId);
    keys?.delete(key);
    if (keys?.size === 0) bySocket.delete(typing.socketId);
  }

  function end(key: string) {
    const typing = active.get(key);
    if (!typing) return;
    forget(key, typing);
    fanout().typing({ ...typing.event, state: "stop" }, typing.socketId);
  }

  return {
    set(socket, sessionId, state) {
      const key = keyOf(sessionId, socket.data.principal.id);
      if (state === "stop") {
        // A stop for nothing started (or already timed out) would only repeat one sent before.
        end(key);
        return;
      }
      const previous = active.get(key);
      if (previous) forget(key, previous);
      const { principal } = socket.data;
      const event: TypingEvent = {
        sessionId,
        principalId: principal.id,
        kind: principal.kind,
        name: principal.name ?? principal.id,
        state: "start",
      };
      const timer = setTimeout(end, timeoutMs, key);
      timer.unref();
      active.set(key, { event, socketId: socket.id, timer });
      let keys = bySocket.get(socket.id);
      if (!keys) {
        keys = new Set();
        bySocket.set(socket.id, keys);
      }
      keys.add(key);
      fanout().typing(event, socket.id);
    },
    messageSent(principalId, sessionId) {
      end(keyOf(sessionId, principalId));
    },
    left(socket, sessionId) {
      const key = keyOf(sessionId, socket.data.principal.id);
      if (active.get(key)?.socketId === socket.id) end(key);
    },
    disconnected(socketId) {
      const keys = bySocket.get(socketId);
      if (keys) for (const key of [...keys]) end(key);
    },
  };
}
