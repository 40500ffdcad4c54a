/**
 * The app: sign in, pick a session, chat. Holds the identity (remembered in localStorage), the
 * one gateway client for it, and which session is open (in the URL hash).
 */
import { useCallback, useMemo, useRef, useState } from "react";
import { ApiError, createApi } from "./api.js";
import { ChatView } from "./chat-view.js";
import { createClient } from "./create-client.js";
import {
  clearIdentity,
  type Identity,
  loadIdentity,
  principalIdFor,
  saveIdentity,
} from "./identity.js";
import { SessionList } from "./session-list.js";
import { SessionPicker } from "./session-picker.js";
import { SignInForm } from "./sign-in-form.js";
import { TopBar } from "./top-bar.js";
import { useConnection } from "./use-connection.js";
import { useHashSession } from "./use-hash-route.js";
import { useSessionList } from "./use-session-list.js";

/** A token refused by the gateway is replaced at most this often, so a misconfigured gateway
 * cannot make the page loop on fresh tokens. */
const TOKEN_REFRESH_INTERVAL_MS = 30_000;

export function App() {
  const api = useMemo(() => createApi(), []);
  const [identity, setIdentity] = useState(() => loadIdentity());
  const [sessionId, openSession] = useHashSession();
  const identityRef = useRef(identity);
  identityRef.current = identity;
  const lastRefresh = useRef(0);

  const adopt = useCallback((next: Identity | undefined) => {
    if (next) saveIdentity(next);
    else clearIdentity();
    identityRef.current = next;
    setIdentity(next);
  }, []);

  const signIn = useCallback(
    async (name: string) => {
      const sub = principalIdFor(name);
      try {
        const token = await api.devToken({ sub, kind: "user", name });
        adopt({ sub, name, token });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          throw new Error("This gateway does not issue dev tokens (AUTH_DEV_TOKENS is off).");
        }
        throw err;
      }
    },
    [api, adopt],
  );

  // The gateway refused the token (restarted with a new dev secret, or it expired): ask for a
  // fresh one for the same principal, so the user keeps their id and sessions.
  const refreshToken = useCallback(
    async (failedToken: string) => {
      const current = identityRef.current;
      if (!current || current.token !== failedToken) return;
      if (Date.now() - lastRefresh.current < TOKEN_REFRESH_INTERVAL_MS) return;
      lastRefresh.current = Date.now();
      try {
        const token = await api.devToken({ sub: current.sub, kind: "user", name: current.name });
        adopt({ ...current, token });
      } catch (err) {
        // Dev tokens are off: nothing here can mint a token, so back to sign-in. The gateway is
        // down: the status stays "failed" with its reason.
        if (err instanceof ApiError && err.status === 404) adopt(undefined);
      }
    },
    [api, adopt],
  );

  const connection = useConnection(identity?.token, createClient, refreshToken);
  const sessionList = useSessionList({
    api,
    client: connection.client,
    token: identity?.token,
    selfId: identity?.sub,
    openSessionId: sessionId,
  });

  const createSession = useCallback(
    async (input: { title?: string; members?: string[] }) => {
      if (!identity) return;
      const session = await api.createSession(identity.token, input);
      sessionList.add(session);
      openSession(session.id);
    },
    [api, identity, openSession, sessionList.add],
  );

  const signOut = useCallback(() => {
    adopt(undefined);
    openSession(undefined);
  }, [adopt, openSession]);

  return (
    <div className="app">
      <TopBar
        status={connection.status}
        reason={connection.reason}
        user={identity}
        onSignOut={signOut}
      />
      <main className="content">
        {!identity ? (
          <SignInForm onSignIn={signIn} />
        ) : !sessionId ? (
          <>
            <SessionList list={sessionList} onOpen={openSession} />
            <SessionPicker selfId={identity.sub} onCreate={createSession} onJoin={openSession} />
          </>
        ) : (
          <ChatView
            key={sessionId}
            api={api}
            client={connection.client}
            token={identity.token}
            selfId={identity.sub}
            sessionId={sessionId}
            onLeave={() => openSession(undefined)}
          />
        )}
      </main>
    </div>
  );
}
