/**
 * The signed-in user's sessions, live. Pages come from `GET /v1/sessions`; every listed session
 * is held joined (from the head the list saw, so nothing sent since is missed or counted twice)
 * because a session's new messages reach only the sockets in its room. `session:added` and
 * `session:removed` change the list as they happen, and the first page is read again after a
 * reconnect, since those events are not replayed.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import type { Session } from "../protocol/index.js";
import type { GatewayClient } from "../sdk/index.js";
import type { Api } from "./api.js";
import { describeError } from "./describe-error.js";
import { holdSession, type SessionHold } from "./session-joins.js";
import {
  initialSessionListState,
  type ListedSession,
  type SessionListState,
  sessionListReducer,
} from "./session-list-state.js";

/** Sessions per page of the list. */
export const SESSION_PAGE_SIZE = 20;

export interface SessionListOptions {
  api: Api;
  client: GatewayClient | undefined;
  token: string | undefined;
  selfId: string | undefined;
  /** The session open on screen: what arrives there is read, not unread. */
  openSessionId: string | undefined;
}

export interface SessionList {
  state: SessionListState;
  loadingMore: boolean;
  error: string | undefined;
  loadMore(): void;
  /** A session this user just created (creating one announces nothing to the creator). */
  add(session: Session): void;
}

export function useSessionList(options: SessionListOptions): SessionList {
  const { api, client, token, selfId, openSessionId } = options;
  const [state, dispatch] = useReducer(sessionListReducer, initialSessionListState);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string>();
  const stateRef = useRef(state);
  stateRef.current = state;
  const openRef = useRef(openSessionId);
  openRef.current = openSessionId;
  const follow = useRef<(sessions: readonly ListedSession[] | readonly Session[]) => void>(
    () => {},
  );

  // Another user signed in: nothing of the last one's list may show.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever the user changes.
  useEffect(() => dispatch({ type: "reset" }), [selfId]);

  useEffect(() => {
    if (openSessionId) dispatch({ type: "read", sessionId: openSessionId, seq: Infinity });
  }, [openSessionId]);

  useEffect(() => {
    if (!client || !token || !selfId) return;
    let cancelled = false;
    const holds = new Map<string, SessionHold>();
    follow.current = (sessions) => {
      for (const s of sessions) {
        if (!holds.has(s.id)) holds.set(s.id, holdSession(client, s.id, s.headSeq));
      }
    };
    const readFirstPage = () =>
      api
        .listSessions(token, { limit: SESSION_PAGE_SIZE })
        .then((page) => {
          if (cancelled) return;
          setError(undefined);
          dispatch({
            type: "page",
            sessions: page.sessions,
            nextCursor: page.nextCursor,
            first: true,
          });
          follow.current(page.sessions);
        })
        .catch((err: unknown) => {
          if (!cancelled) setError(describeError(err));
        });

    let offline = false;
    const offs = [
      client.on("message", (message) => {
        dispatch({ type: "message", message, selfId });
        if (message.sessionId === openRef.current) {
          dispatch({ type: "read", sessionId: message.sessionId, seq: message.seq });
        }
      }),
      // This user read on another tab or device: the count there is the count here.
      client.on("receipt", (event) => {
        if (event.principalId === selfId) {
          dispatch({ type: "read", sessionId: event.sessionId, seq: event.read });
        }
      }),
      client.on("sessionAdded", ({ session }) => {
        dispatch({ type: "added", session });
        follow.current([session]);
      }),
      client.on("sessionRemoved", ({ sessionId }) => {
        dispatch({ type: "removed", sessionId });
        holds.get(sessionId)?.release();
        holds.delete(sessionId);
      }),
      client.on("status", (status) => {
        if (status === "reconnecting") offline = true;
        if (status === "connected" && offline) {
          offline = false;
          void readFirstPage();
        }
      }),
    ];
    void readFirstPage();
    return () => {
      cancelled = true;
      follow.current = () => {};
      for (const off of offs) off();
      for (const hold of holds.values()) hold.release();
    };
  }, [api, client, token, selfId]);

  const loadMore = useCallback(() => {
    const cursor = stateRef.current.nextCursor;
    if (!token || !cursor || loadingMore) return;
    setLoadingMore(true);
    api
      .listSessions(token, { limit: SESSION_PAGE_SIZE, cursor })
      .then((page) => {
        dispatch({
          type: "page",
          sessions: page.sessions,
          nextCursor: page.nextCursor,
          first: false,
        });
        follow.current(page.sessions);
      })
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setLoadingMore(false));
  }, [api, token, loadingMore]);

  const add = useCallback((session: Session) => {
    dispatch({ type: "added", session });
    follow.current([session]);
  }, []);

  return { state, loadingMore, error, loadMore, add };
}
