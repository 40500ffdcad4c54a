/**
 * The people of the open session, live: the member list from the session's details, then
 * `member:added`/`member:removed`, presence (the join's list, then `presence` events) and
 * receipt watermarks (the details' `receipts`, then `receipt` events).
 */
import { useEffect, useReducer } from "react";
import type { GatewayClient } from "../sdk/index.js";
import {
  initialPeopleState,
  type MemberDetail,
  type MemberReceipt,
  type PeopleState,
  peopleReducer,
} from "./people-state.js";

export type SessionDetails = {
  id: string;
  members: string[];
  memberDetails?: MemberDetail[];
  receipts?: MemberReceipt[];
};

export function usePeople(
  client: GatewayClient | undefined,
  sessionId: string,
  details: SessionDetails | undefined,
  /** The conversation has joined the session (the SDK holds the join's online list). */
  joined: boolean,
): PeopleState {
  const [state, dispatch] = useReducer(peopleReducer, sessionId, initialPeopleState);

  useEffect(() => {
    if (!details) return;
    dispatch({ type: "session", session: details });
    if (details.receipts) {
      dispatch({ type: "receipts", sessionId: details.id, receipts: details.receipts });
    }
  }, [details]);

  useEffect(() => {
    if (!client) return;
    const reread = () =>
      dispatch({
        type: "online",
        sessionId,
        present: client.status === "connected" ? client.presence(sessionId) : [],
      });
    const offs = [
      client.on("memberAdded", (event) => dispatch({ type: "memberAdded", event })),
      client.on("memberRemoved", (event) => dispatch({ type: "memberRemoved", event })),
      client.on("status", (status) => {
        if (status !== "connected") dispatch({ type: "disconnected" });
      }),
      // Every join and rejoin replaces the SDK's online list, changes made while offline included.
      client.on("joined", (event) => {
        if (event.sessionId === sessionId) reread();
      }),
      client.on("presence", (event) => dispatch({ type: "presence", event })),
      client.on("receipt", (event) => dispatch({ type: "receipt", event })),
    ];
    // The join's list, once the open conversation has joined.
    if (joined) reread();
    return () => {
      for (const off of offs) off();
    };
  }, [client, sessionId, joined]);

  return state;
}
