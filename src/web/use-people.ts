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
  type PresenceChange,
  type PresentMember,
  peopleReducer,
} from "./people-state.js";

/** What the SDK tells of presence (CONTRACT-R2). */
type PeopleEvents = {
  presence: (event: PresenceChange) => void;
  presenceList: (event: { sessionId: string; present: PresentMember[] }) => void;
};
type PeopleOn = <E extends keyof PeopleEvents>(event: E, listener: PeopleEvents[E]) => () => void;

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
    const on = client.on as unknown as PeopleOn;
    const offs = [
      client.on("memberAdded", (event) => dispatch({ type: "memberAdded", event })),
      client.on("memberRemoved", (event) => dispatch({ type: "memberRemoved", event })),
      client.on("status", (status) => {
        if (status !== "connected") dispatch({ type: "disconnected" });
      }),
      on("presence", (event) => dispatch({ type: "presence", event })),
      on("presenceList", ({ sessionId: id, present }) =>
        dispatch({ type: "online", sessionId: id, present }),
      ),
      client.on("receipt", (event) => dispatch({ type: "receipt", event })),
    ];
    return () => {
      for (const off of offs) off();
    };
  }, [client]);

  return state;
}
