/**
 * The message list of one session as a pure reducer. The server's order is `seq`; live messages
 * can arrive out of order or twice around reconnects (PROTOCOL.md section 5), so everything is
 * keyed by `seq` and sorted. Messages this tab sends sit in `outbox` until the ack gives them
 * a `seq`, or until the same id arrives from the server first (a sync can beat the ack).
 */
import type { MessageType, StoredMessage } from "../protocol/index.js";

export interface OutgoingMessage {
  id: string;
  sessionId: string;
  content: string;
  type: MessageType;
  senderId: string;
  /** When the user pressed send, ms since epoch. */
  createdAt: number;
  state: "pending" | "failed";
  error?: string;
}

export interface MessageState {
  sessionId: string;
  /** Stored messages, ascending `seq`, no duplicates. */
  messages: StoredMessage[];
  /** Messages of this tab not yet stored, in the order they were sent. */
  outbox: OutgoingMessage[];
}

export type MessageAction =
  | { type: "received"; messages: StoredMessage[] }
  | { type: "sending"; message: OutgoingMessage }
  | { type: "sent"; id: string; seq: number; createdAt: number }
  | { type: "failed"; id: string; error: string };

export function initialMessageState(sessionId: string): MessageState {
  return { sessionId, messages: [], outbox: [] };
}

export function messageReducer(state: MessageState, action: MessageAction): MessageState {
  switch (action.type) {
    case "received": {
      const incoming = action.messages.filter((m) => m.sessionId === state.sessionId);
      if (incoming.length === 0) return state;
      const ids = new Set(incoming.map((m) => m.id));
      return {
        ...state,
        messages: mergeBySeq(state.messages, incoming),
        outbox: state.outbox.filter((m) => !ids.has(m.id)),
      };
    }
    case "sending":
      if (action.message.sessionId !== state.sessionId) return state;
      return {
        ...state,
        outbox: [...state.outbox.filter((m) => m.id !== action.message.id), action.message],
      };
    case "sent": {
      const pending = state.outbox.find((m) => m.id === action.id);
      if (!pending) return state;
      const stored: StoredMessage = {
        id: pending.id,
        sessionId: pending.sessionId,
        seq: action.seq,
        senderId: pending.senderId,
        senderKind: "user",
        // The web UI shows its own messages by id; h12-web may pass the signed-in name here.
        senderName: pending.senderId,
        content: pending.content,
        type: pending.type,
        timestamp: pending.createdAt,
        createdAt: action.createdAt,
        status: "sent",
      };
      return {
        ...state,
        messages: mergeBySeq(state.messages, [stored]),
        outbox: state.outbox.filter((m) => m.id !== action.id),
      };
    }
    case "failed":
      return {
        ...state,
        outbox: state.outbox.map((m) =>
          m.id === action.id ? { ...m, state: "failed", error: action.error } : m,
        ),
      };
  }
}

/** The newest `seq` held, 0 when none. */
export function lastSeq(state: MessageState): number {
  return state.messages.at(-1)?.seq ?? 0;
}

function mergeBySeq(current: StoredMessage[], incoming: StoredMessage[]): StoredMessage[] {
  const bySeq = new Map<number, StoredMessage>();
  for (const m of current) bySeq.set(m.seq, m);
  let changed = false;
  for (const m of incoming) {
    if (!bySeq.has(m.seq)) {
      bySeq.set(m.seq, m);
      changed = true;
    }
  }
  if (!changed) return current;
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
