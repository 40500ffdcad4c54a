/**
 * One open session: its details over HTTP, and its messages through the SDK, which delivers
 * every message after the head it was opened at in `seq` order, filling holes after reconnects;
 * the history before it is read backwards, a page at a time (use-older-history.ts).
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
import { holdSession } from "./session-joins.js";
import { type OlderHistory, useOlderHistory } from "./use-older-history.js";

export interface ChatSession {
  session: Session | undefined;
  state: MessageState;
  /** Why the session could not be opened, if it could not. */
  error: string | undefined;
  send(content: string, type: MessageType): void;
  retry(id: string): void;
  refreshSession(): Promise<void>;
  /** The session is joined: live messages, presence and receipts flow. */
  joined: boolean;
  /** Earlier messages, read a page at a time (the newest page on open). */
  older: OlderHistory;
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
  const [openedAt, setOpenedAt] = useState<number>();
  const [joined, setJoined] = useState(false);
  const [error, setError] = useState<string>();
  const stateRef = useRef(state);
  stateRef.current = state;

  // Details first (a FORBIDDEN or NOT_FOUND shows here), then join. A new client (a refreshed
  // token) joins after what this list already holds, so nothing is fetched twice.
  useEffect(() => {
    setError(undefined);
    if (!client) return;
    let cancelled = false;
    let hold: ReturnType<typeof holdSession> | undefined;
    const off = client.on("message", (message) =>
      dispatch({ type: "received", messages: [message] }),
    );
    (async () => {
      const details = await api.getSession(token, sessionId);
      if (cancelled) return;
      setSession(details);
      setOpenedAt((at) => at ?? details.headSeq);
      // Live from the head on; what came before is read backwards (useOlderHistory). The
      // session list may hold the session joined already, from an earlier head.
      const held = lastSeq(stateRef.current);
      hold = holdSession(client, sessionId, held > 0 ? held : details.headSeq);
      await hold.joined;
      if (!cancelled) setJoined(true);
    })().catch((err: unknown) => {
      if (!cancelled) setError(describeError(err));
    });
    return () => {
      cancelled = true;
      off();
      hold?.release();
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

  const older = useOlderHistory({
    client,
    sessionId,
    headSeq: openedAt,
    messages: state.messages,
    dispatch,
  });

  return { session, state, error, send, retry, refreshSession, joined, older };
}
