/**
 * Paging back through a session's history as the reader scrolls up: which page to ask for next
 * (the one just before the oldest message held, so pages join the live stream without a hole
 * and the list's merge by `seq` drops any overlap), and where to scroll after a page lands.
 */

export interface HistoryPaging {
  /** A page is on its way. */
  loading: boolean;
  /** Older messages may exist; false once the server said none are older. */
  hasMore: boolean;
}

export type HistoryPagingAction =
  | { type: "requested" }
  | { type: "loaded"; hasMore: boolean }
  | { type: "failed" };

export const initialHistoryPaging: HistoryPaging = { loading: false, hasMore: true };

export function historyPagingReducer(
  state: HistoryPaging,
  action: HistoryPagingAction,
): HistoryPaging {
  switch (action.type) {
    case "requested":
      return { ...state, loading: true };
    case "loaded":
      return { loading: false, hasMore: action.hasMore };
    case "failed":
      return { ...state, loading: false };
  }
}

/**
 * The next older page to read, or undefined when none should be read now. `headSeq` is the
 * session's head when it was opened: with nothing held yet, the first page ends there.
 */
export function nextOlderPage(
  state: HistoryPaging,
  held: readonly { seq: number }[],
  headSeq: number | undefined,
): { beforeSeq: number } | undefined {
  if (state.loading || !state.hasMore || headSeq === undefined) return undefined;
  const beforeSeq = held[0]?.seq ?? headSeq + 1;
  return beforeSeq > 1 ? { beforeSeq } : undefined;
}

/** The scroll offset that keeps the same content in view after a page grew the list above it. */
export function scrollTopAfterPrepend(
  before: { scrollTop: number; scrollHeight: number },
  scrollHeightNow: number,
): number {
  return before.scrollTop + (scrollHeightNow - before.scrollHeight);
}
