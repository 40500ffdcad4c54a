/**
 * One open session: its details over HTTP, and its messages through the SDK, which delivers the
 * recent history and then every later message in `seq` order, filling holes after reconnects.
 * Sending shows each message pending until its ack (the SDK keeps it in its outbox across
 * disconnects), then sent, or failed with the reason and a retry.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import type { Session } from "../protocol/index.js";
import { type GatewayClient, type MessageType, newMessageId } from "../sdk/index.js";
import type { Api } from "./api.js";
import { describeError, errorCode } from "./describe-error.js";
import {
  initialMessageState,
  lastSeq,
  type MessageState,
  messageReducer,
} from "./message-state.js";

/** How many earlier messages to show when a session opens. */
export const HISTORY_LIMIT = 200;

export interface ChatSession {
  session: Session | undefined;
  state: MessageState;
  /** Why the session could not be opened, if it could not. */
  error: string | undefined;
  send(content: string, type: MessageType): void;
  retry(id: string): void;
  refreshSession(): Promise<void>;
}

export interface ChatSessionOptions {
  api: Api;
  client: GatewayClient | undefined;
  token: string;
  sessionId: string;
  senderId: string;
}

export function useChatSession(options: ChatSessionOptions): ChatSession {
  const { api, client, token, sessionId, senderId } = options;
  const [state, dispatch] = useReducer(messageReducer, sessionId, initialMessageState);
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  const stateRef = useRef(state);
  stateRef.current = state;

  // Details first (a FORBIDDEN or NOT_FOUND shows here), then join. A new client (a refreshed
  // token) joins after what this list already holds, so nothing is fetched twice.
  useEffect(() => {
    setError(undefined);
    if (!client) return;
    let cancelled = false;
    const off = client.on("message", (message) =>
      dispatch({ type: "received", messages: [message] }),
    );
    (async () => {
      const details = await api.getSession(token, sessionId);
      if (cancelled) return;
      setSession(details);
      const held = lastSeq(stateRef.current);
      await client.joinSession(sessionId, {
        lastSeq: held > 0 ? held : Math.max(0, details.headSeq - HISTORY_LIMIT),
      });
    })().catch((err: unknown) => {
      if (!cancelled) setError(describeError(err));
    });
    return () => {
      cancelled = true;
      off();
      client.leaveSession(sessionId).catch(() => {});
    };
  }, [api, client, token, sessionId]);

  const deliver = useCallback(
    async (id: string, content: string, type: MessageType) => {
      if (!client) return;
      try {
        const ack = await client.send({ id, sessionId, content, type });
        dispatch({ type: "sent", id, seq: ack.seq, createdAt: ack.createdAt });
      } catch (err) {
        // CLOSED: this client was replaced (a refreshed token). The message stays in the
        // persistent outbox and the next client sends it; it then arrives in the stream.
        if (errorCode(err) === "CLOSED") return;
        dispatch({ type: "failed", id, error: describeError(err) ?? "not sent" });
      }
    },
    [client, sessionId],
  );

  const send = useCallback(
    (content: string, type: MessageType) => {
      const id = newMessageId();
      dispatch({
        type: "sending",
        message: {
          id,
          sessionId,
          content,
          type,
          senderId,
          createdAt: Date.now(),
          state: "pending",
        },
      });
      void deliver(id, content, type);
    },
    [deliver, sessionId, senderId],
  );

  const retry = useCallback(
    (id: string) => {
      const message = stateRef.current.outbox.find((m) => m.id === id);
      if (!message) return;
      dispatch({ type: "sending", message: { ...message, state: "pending" } });
      void deliver(id, message.content, message.type);
    },
    [deliver],
  );

  const refreshSession = useCallback(async () => {
    setSession(await api.getSession(token, sessionId));
  }, [api, token, sessionId]);

  return { session, state, error, send, retry, refreshSession };
}
