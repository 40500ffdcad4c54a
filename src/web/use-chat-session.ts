/**
 * One open session: its details, its messages (history on open, live after), and sending with a
 * per-message pending/sent/failed state. After every reconnect it fetches what it missed over
 * HTTP, so a dropped network never leaves a hole even if live fan-out was lost.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import type { MessageType, Session } from "../protocol/index.js";
import type { Api } from "./api.js";
import type { ChatClient, ConnectionStatus } from "./chat-client.js";
import { describeError } from "./describe-error.js";
import { newMessageId } from "./ids.js";
import {
  initialMessageState,
  lastSeq,
  type MessageState,
  messageReducer,
} from "./message-state.js";

/** How much history to show when a session opens. */
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
  client: ChatClient | undefined;
  status: ConnectionStatus;
  token: string;
  sessionId: string;
  senderId: string;
}

export function useChatSession(options: ChatSessionOptions): ChatSession {
  const { api, client, status, token, sessionId, senderId } = options;
  const [state, dispatch] = useReducer(messageReducer, sessionId, initialMessageState);
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  const stateRef = useRef(state);
  stateRef.current = state;
  /** History has loaded for this client: from then on, reconnects catch up. */
  const loaded = useRef(false);

  const catchUp = useCallback(
    async (afterSeq: number) => {
      let after = afterSeq;
      for (let page = 0; page < 20; page++) {
        const result = await api.messages(token, sessionId, after, 500);
        dispatch({ type: "received", messages: result.messages });
        after = result.messages.at(-1)?.seq ?? after;
        if (!result.hasMore) return;
      }
    },
    [api, token, sessionId],
  );

  // Open: details, then join (live messages start), then history. Anything that lands between
  // two of these steps arrives by both paths and is deduplicated by seq.
  useEffect(() => {
    dispatch({ type: "reset", sessionId });
    loaded.current = false;
    setSession(undefined);
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
      await client.joinSession(sessionId);
      const from = Math.max(0, details.headSeq - HISTORY_LIMIT);
      const page = await api.messages(token, sessionId, from, HISTORY_LIMIT);
      if (cancelled) return;
      dispatch({ type: "received", messages: page.messages });
      loaded.current = true;
    })().catch((err: unknown) => {
      if (!cancelled) setError(describeError(err));
    });
    return () => {
      cancelled = true;
      off();
      void client.leaveSession(sessionId).catch(() => {});
    };
  }, [api, client, token, sessionId]);

  // After a reconnect, fetch what was committed meanwhile. Until history has loaded there is
  // nothing to catch up on: the open effect's history read covers it.
  useEffect(() => {
    if (status !== "connected" || !loaded.current) return;
    catchUp(lastSeq(stateRef.current)).catch(() => {
      // Live messages and the next reconnect fill in: the list can be behind, never wrong.
    });
  }, [status, catchUp]);

  const deliver = useCallback(
    async (id: string, content: string, type: MessageType) => {
      if (!client) return;
      try {
        const ack = await client.send({ id, sessionId, content, type });
        dispatch({ type: "sent", id, seq: ack.seq, createdAt: ack.createdAt });
      } catch (err) {
        dispatch({ type: "failed", id, error: describeError(err) ?? "Not sent" });
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
