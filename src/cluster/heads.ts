/**
 * What this node has delivered to its sockets, per session, for the head announcements: the
 * highest seq up to which it delivered every message or announced a head. It stops at the first
 * hole, so a message whose batch was lost is still announced when later ones arrive live.
 */
export interface HeadTracker {
  /** A message went to this node's sockets. */
  delivered(sessionId: string, seq: number): void;
  /** A head went to this node's sockets: they know everything up to it exists. */
  announced(sessionId: string, seq: number): void;
  /** True when the table's head is past what this node delivered without a gap. */
  behind(sessionId: string, tableSeq: number): boolean;
  /** Forgets every session not listed (no socket here is in it any more). */
  retain(sessionIds: Iterable<string>): void;
}

export function createHeadTracker(): HeadTracker {
  const known = new Map<string, number>();
  return {
    delivered(sessionId, seq) {
      // A message past a hole leaves the mark where it is: the next positioning pass then
      // announces the head (at worst once per pass when live delivery was merely out of order).
      if (seq === (known.get(sessionId) ?? 0) + 1) known.set(sessionId, seq);
    },
    announced(sessionId, seq) {
      if (seq > (known.get(sessionId) ?? 0)) known.set(sessionId, seq);
    },
    behind: (sessionId, tableSeq) => tableSeq > (known.get(sessionId) ?? 0),
    retain(sessionIds) {
      const keep = new Set(sessionIds);
      for (const id of known.keys()) if (!keep.has(id)) known.delete(id);
    },
  };
}
