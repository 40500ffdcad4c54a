/**
 * Room names, in one place for every process that reaches sockets: the realtime server joins
 * sockets to them, the cluster fan-out and the serverless publisher address them on the wire.
 * PROTOCOL.md section 3 names `session_<id>`; other processes depend on these exact strings.
 */
const SESSION_PREFIX = "session_";
const PRINCIPAL_PREFIX = "principal_";

export function sessionRoom(sessionId: string): string {
  return `${SESSION_PREFIX}${sessionId}`;
}

/** The session a room belongs to, or undefined for any other room. */
export function sessionOfRoom(room: string): string | undefined {
  return room.startsWith(SESSION_PREFIX) ? room.slice(SESSION_PREFIX.length) : undefined;
}

/** Every socket joins its principal's room at connect, so a member removal is one operation. */
export function principalRoom(principalId: string): string {
  return `${PRINCIPAL_PREFIX}${principalId}`;
}
