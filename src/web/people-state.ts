/**
 * The people of the open session as a pure reducer: members (live), their display names, who
 * is online, and everyone's receipt watermarks. The wire shapes are CONTRACT-R2's: names come
 * from `memberDetails`, member and presence events; a principal nobody has named is shown by id.
 */
import type {
  MemberDetail,
  MemberEvent,
  MemberReceipt,
  PresenceEntry,
  PresenceEvent,
  PrincipalKind,
  ReceiptEvent,
} from "../protocol/index.js";

export type {
  MemberDetail,
  MemberReceipt,
  PresenceEntry as PresentMember,
  PresenceEvent as PresenceChange,
  ReceiptEvent as ReceiptChange,
};

export interface Person {
  principalId: string;
  name: string;
  kind: PrincipalKind | null;
  online: boolean;
}

export interface PeopleState {
  sessionId: string;
  /** Member ids in the session's order; later additions at the end. */
  members: string[];
  /** What is known of anyone seen in the session (names outlive membership). */
  known: ReadonlyMap<string, { name: string; kind: PrincipalKind | null }>;
  online: ReadonlySet<string>;
  receipts: ReadonlyMap<string, { delivered: number; read: number }>;
}

export type PeopleAction =
  | {
      type: "session";
      session: { id: string; members: string[]; memberDetails?: MemberDetail[] };
    }
  | { type: "memberAdded"; event: MemberEvent }
  | { type: "memberRemoved"; event: MemberEvent }
  | { type: "online"; sessionId: string; present: PresenceEntry[] }
  | { type: "presence"; event: PresenceEvent }
  | { type: "disconnected" }
  | { type: "receipts"; sessionId: string; receipts: MemberReceipt[] }
  | { type: "receipt"; event: ReceiptEvent };

export function initialPeopleState(sessionId: string): PeopleState {
  return { sessionId, members: [], known: new Map(), online: new Set(), receipts: new Map() };
}

export function peopleReducer(state: PeopleState, action: PeopleAction): PeopleState {
  switch (action.type) {
    case "session": {
      if (action.session.id !== state.sessionId) return state;
      const known = new Map(state.known);
      for (const d of action.session.memberDetails ?? []) {
        known.set(d.principalId, { name: d.name, kind: d.kind });
      }
      return { ...state, members: [...action.session.members], known };
    }
    case "memberAdded": {
      const { event } = action;
      if (event.sessionId !== state.sessionId) return state;
      const known = learn(state.known, event.principalId, event.name, event.kind);
      const members = state.members.includes(event.principalId)
        ? state.members
        : [...state.members, event.principalId];
      return { ...state, members, known };
    }
    case "memberRemoved": {
      const { event } = action;
      if (event.sessionId !== state.sessionId) return state;
      const online = new Set(state.online);
      online.delete(event.principalId);
      return {
        ...state,
        members: state.members.filter((m) => m !== event.principalId),
        online,
      };
    }
    case "online": {
      if (action.sessionId !== state.sessionId) return state;
      let known = state.known;
      for (const p of action.present) known = learn(known, p.principalId, p.name, p.kind);
      const online = new Set(action.present.map((p) => p.principalId));
      const same =
        online.size === state.online.size && [...online].every((id) => state.online.has(id));
      if (same && known === state.known) return state;
      return { ...state, known, online: same ? state.online : online };
    }
    case "presence": {
      const { event } = action;
      if (event.sessionId !== state.sessionId) return state;
      const online = new Set(state.online);
      if (event.state === "online") online.add(event.principalId);
      else online.delete(event.principalId);
      return {
        ...state,
        known: learn(state.known, event.principalId, event.name, event.kind),
        online,
      };
    }
    case "disconnected":
      // Presence changes sent while offline are lost; the rejoin's list is the truth again.
      return state.online.size === 0 ? state : { ...state, online: new Set() };
    case "receipts": {
      if (action.sessionId !== state.sessionId) return state;
      return { ...state, receipts: raise(state.receipts, action.receipts) };
    }
    case "receipt": {
      if (action.event.sessionId !== state.sessionId) return state;
      return { ...state, receipts: raise(state.receipts, [action.event]) };
    }
  }
}

/** The members as shown: names (else ids), kinds when known, online or not. */
export function people(state: PeopleState): Person[] {
  return state.members.map((principalId) => {
    const known = state.known.get(principalId);
    return {
      principalId,
      name: known?.name ?? principalId,
      kind: known?.kind ?? null,
      online: state.online.has(principalId),
    };
  });
}

/** A principal's display name, its id when nobody has named it. */
export function nameOf(state: PeopleState, principalId: string): string {
  return state.known.get(principalId)?.name ?? principalId;
}

/**
 * "Read by …" / "delivered to …" for a message at `seq` sent by `senderId`: the other members
 * whose watermark has reached it (like the ticks of common chat apps). "Sent" when none has.
 */
export function receiptLine(state: PeopleState, seq: number, senderId: string): string {
  const others = state.members.filter((m) => m !== senderId);
  const readBy: string[] = [];
  const deliveredTo: string[] = [];
  for (const m of others) {
    const r = state.receipts.get(m);
    if (r && r.read >= seq) readBy.push(nameOf(state, m));
    else if (r && r.delivered >= seq) deliveredTo.push(nameOf(state, m));
  }
  if (others.length >= 2 && readBy.length === others.length) return "Read by everyone";
  const parts: string[] = [];
  if (readBy.length > 0) parts.push(`Read by ${list(readBy)}`);
  if (deliveredTo.length > 0) {
    parts.push(`${parts.length > 0 ? "delivered" : "Delivered"} to ${list(deliveredTo)}`);
  }
  return parts.length > 0 ? parts.join(" · ") : "Sent";
}

function list(names: string[]): string {
  if (names.length <= 3) return names.join(", ");
  return `${names.slice(0, 2).join(", ")} and ${names.length - 2} others`;
}

function learn(
  known: PeopleState["known"],
  principalId: string,
  name: string | undefined,
  kind: PrincipalKind | null | undefined,
): PeopleState["known"] {
  const current = known.get(principalId);
  if (name === undefined && (kind === undefined || kind === null)) return known;
  const next = {
    name: name ?? current?.name ?? principalId,
    kind: kind ?? current?.kind ?? null,
  };
  if (current && current.name === next.name && current.kind === next.kind) return known;
  const copy = new Map(known);
  copy.set(principalId, next);
  return copy;
}

function raise(
  current: PeopleState["receipts"],
  receipts: readonly MemberReceipt[],
): PeopleState["receipts"] {
  const next = new Map(current);
  for (const r of receipts) {
    const was = next.get(r.principalId) ?? { delivered: 0, read: 0 };
    const read = Math.max(was.read, r.read);
    next.set(r.principalId, { read, delivered: Math.max(was.delivered, r.delivered, read) });
  }
  return next;
}
