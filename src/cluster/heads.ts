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
  /** A socket here was told the session's head (a join or sync answer). */
  seen(sessionId: string, seq: number): void;
  /**
   * The highest seq this node's sockets can know exists (delivered, announced or seen), holes
   * or not: a receipt up to it needs no database read to prove the seq exists.
   */
  highest(sessionId: string): number;
  /** Forgets every session not listed (no socket here is in it any more). */
  retain(sessionIds: Iterable<string>): void;
}

export function createHeadTracker(): HeadTracker {
  const known = new Map<string, number>();
  const top = new Map<string, number>();
  const raise = (sessionId: string, seq: number) => {
    if (seq > (top.get(sessionId) ?? 0)) top.set(sessionId, seq);
  };
  return {
    delivered(sessionId, seq) {
      raise(sessionId, seq);
      // A message past a hole leaves the mark where it is: the next positioning pass then
      // announces the head (at worst once per pass when live delivery was merely out of order).
      if (seq === (known.get(sessionId) ?? 0) + 1) known.set(sessionId, seq);
    },
    announced(sessionId, seq) {
      raise(sessionId, seq);
      if (seq > (known.get(sessionId) ?? 0)) known.set(sessionId, seq);
    },
    behind: (sessionId, tableSeq) => tableSeq > (known.get(sessionId) ?? 0),
    seen: raise,
    highest: (sessionId) => top.get(sessionId) ?? 0,
    retain(sessionIds) {
      const keep = new Set(sessionIds);
      for (const id of known.keys()) if (!keep.has(id)) known.delete(id);
      for (const id of top.keys()) if (!keep.has(id)) top.delete(id);
    },
  };
}
