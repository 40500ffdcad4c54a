/**
 * Who is online in each joined session, as the SDK knows it: the `join_session` ack's list
 * (every join and rejoin replaces it) with the live `presence` events applied since. The server
 * sends the ack's list as the ack leaves, so an event that came before the ack is already in it
 * and every later one arrives after it.
 */
import type { PresenceEntry, PresenceEvent } from "../protocol/schemas.js";

export class PresenceBook {
  private readonly sessions = new Map<string, Map<string, PresenceEntry>>();

  /** The join ack's list for `sessionId`. */
  replace(sessionId: string, entries: PresenceEntry[]): void {
    this.sessions.set(sessionId, new Map(entries.map((e) => [e.principalId, e])));
  }

  /** A live event; ignored for a session not joined. */
  apply(event: PresenceEvent): void {
    const online = this.sessions.get(event.sessionId);
    if (!online) return;
    if (event.state === "offline") {
      online.delete(event.principalId);
      return;
    }
    const { principalId, kind, name, at } = event;
    const known = online.get(principalId);
    online.set(principalId, { principalId, kind, name, since: known?.since ?? at });
  }

  list(sessionId: string): PresenceEntry[] {
    return [...(this.sessions.get(sessionId)?.values() ?? [])];
  }

  get(sessionId: string, principalId: string): PresenceEntry | undefined {
    return this.sessions.get(sessionId)?.get(principalId);
  }

  forget(sessionId: string): void {
    this.sessions.delete(sessionId);
  }
}
