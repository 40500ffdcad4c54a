/**
 * Shared joins of one SDK client. The session list keeps every listed session joined (that is
 * how it hears of their new messages) while the open conversation joins its own: a session is
 * left only when nobody holds it any more, so closing a conversation does not silence the list.
 */
import type { GatewayClient, JoinResult } from "../sdk/index.js";

type JoinClient = Pick<GatewayClient, "joinSession" | "leaveSession">;

export interface SessionHold {
  /** The SDK's join: the first success, or why it failed (FORBIDDEN, NOT_FOUND, closed). */
  joined: Promise<JoinResult>;
  /** Gives this hold up; the last one leaves the session. Idempotent. */
  release(): void;
}

const holdsByClient = new WeakMap<JoinClient, Map<string, number>>();

/**
 * Holds `sessionId` joined. `lastSeq` applies only when the SDK is not following the session
 * yet (the SDK keeps its first join's starting point).
 */
export function holdSession(client: JoinClient, sessionId: string, lastSeq?: number): SessionHold {
  let holds = holdsByClient.get(client);
  if (!holds) {
    holds = new Map();
    holdsByClient.set(client, holds);
  }
  const counts = holds;
  counts.set(sessionId, (counts.get(sessionId) ?? 0) + 1);
  // Asked of the SDK every time: after a `session:removed` it has dropped the session by itself,
  // and a later hold (the principal added again) must join it anew.
  const joined = client.joinSession(sessionId, lastSeq === undefined ? {} : { lastSeq });
  joined.catch(() => {});
  let released = false;
  return {
    joined,
    release() {
      if (released) return;
      released = true;
      const left = (counts.get(sessionId) ?? 1) - 1;
      if (left > 0) {
        counts.set(sessionId, left);
        return;
      }
      counts.delete(sessionId);
      client.leaveSession(sessionId).catch(() => {});
    },
  };
}
