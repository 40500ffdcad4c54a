/**
 * The caller's sessions as a pure reducer: pages from `GET /v1/sessions` (most recent activity
 * first), then live changes on top of them. A session's `headSeq` is where the list's count
 * stands, so a message at or below it (a join's catch-up, a repeat) is never counted twice.
 */
import type { Session, SessionSummary, StoredMessage } from "../protocol/index.js";

/** A list item as `GET /v1/sessions` sends it. */
export type ListedSession = SessionSummary;

export interface SessionListItem {
  id: string;
  title: string | null;
  members: readonly string[];
  headSeq: number;
  /** Time of the newest message, ms; undefined for a session without one. */
  lastActivity: number | undefined;
  unread: number;
}

export interface SessionListState {
  /** Most recent activity first, each session once. */
  items: SessionListItem[];
  /** Cursor of the next page; null when the last page is loaded. */
  nextCursor: string | null;
  /** The first page has arrived. */
  loaded: boolean;
}

export type SessionListAction =
  | { type: "page"; sessions: ListedSession[]; nextCursor: string | null; first: boolean }
  | { type: "added"; session: Session | ListedSession }
  | { type: "removed"; sessionId: string }
  | { type: "message"; message: StoredMessage; selfId: string }
  | { type: "read"; sessionId: string; seq: number }
  | { type: "reset" };

export const initialSessionListState: SessionListState = {
  items: [],
  nextCursor: null,
  loaded: false,
};

export function sessionListReducer(
  state: SessionListState,
  action: SessionListAction,
): SessionListState {
  switch (action.type) {
    case "page": {
      const incoming = action.sessions.map(toItem);
      if (!action.first) {
        const known = new Set(state.items.map((i) => i.id));
        const fresh = incoming.filter((i) => !known.has(i.id));
        return { ...state, items: [...state.items, ...fresh], nextCursor: action.nextCursor };
      }
      // A first page read again (after a reconnect) is the truth for the sessions it holds;
      // the ones on later pages stay where they were.
      const fresh = new Set(incoming.map((i) => i.id));
      return {
        items: [...incoming, ...state.items.filter((i) => !fresh.has(i.id))],
        nextCursor: action.nextCursor,
        loaded: true,
      };
    }
    case "added": {
      if (state.items.some((i) => i.id === action.session.id)) return state;
      return { ...state, items: [toItem(action.session), ...state.items] };
    }
    case "removed": {
      const items = state.items.filter((i) => i.id !== action.sessionId);
      return items.length === state.items.length ? state : { ...state, items };
    }
    case "message": {
      const { message, selfId } = action;
      const item = state.items.find((i) => i.id === message.sessionId);
      if (!item || message.seq <= item.headSeq) return state;
      const updated: SessionListItem = {
        ...item,
        headSeq: message.seq,
        lastActivity: message.createdAt,
        unread: item.unread + (message.senderId === selfId ? 0 : 1),
      };
      return { ...state, items: [updated, ...state.items.filter((i) => i !== item)] };
    }
    case "reset":
      return initialSessionListState;
    case "read": {
      const item = state.items.find((i) => i.id === action.sessionId);
      // Without the messages the list cannot tell how many are left below the head; reading
      // up to the head is the case that matters (the session was open).
      if (!item || item.unread === 0 || action.seq < item.headSeq) return state;
      return {
        ...state,
        items: state.items.map((i) => (i === item ? { ...i, unread: 0 } : i)),
      };
    }
  }
}

function toItem(session: Session | ListedSession): SessionListItem {
  const listed = session as Partial<ListedSession>;
  return {
    id: session.id,
    title: session.title,
    members: session.members,
    headSeq: session.headSeq,
    lastActivity: listed.lastMessageAt ?? undefined,
    unread: listed.unread ?? 0,
  };
}
