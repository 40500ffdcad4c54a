/**
 * The top of the conversation: "loading earlier messages" or "beginning of the conversation",
 * and the scroll bookkeeping that keeps the reader's place when an older page lands above.
 */
import { type RefObject, useLayoutEffect, useRef } from "react";
import { scrollTopAfterPrepend } from "./history-paging.js";
import "./people.css";

export function HistoryEdge({ hasMore, loading }: { hasMore: boolean; loading: boolean }) {
  return (
    <p className="history-edge muted" data-testid="history-edge">
      {loading ? "Loading earlier messages…" : hasMore ? "" : "Beginning of the conversation"}
    </p>
  );
}

/**
 * After a render that put older messages above the ones shown, moves the scroll offset by the
 * height they added, so the message under the reader's eye stays put (the scroller turns the
 * browser's own scroll anchoring off, which not every browser has). A page too short to scroll
 * asks for the next one, since no scroll would.
 */
export function useKeepScrollOnPrepend(
  scroller: RefObject<HTMLDivElement | null>,
  pinned: RefObject<boolean>,
  firstSeq: number | undefined,
  older: { hasMore: boolean; loading: boolean; loadOlder(): void } | undefined,
): void {
  const last = useRef<{ firstSeq: number | undefined; scrollHeight: number }>(undefined);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = last.current;
    const prepended =
      before?.firstSeq !== undefined && firstSeq !== undefined && firstSeq < before.firstSeq;
    if (before && prepended && !pinned.current) {
      el.scrollTop = scrollTopAfterPrepend(
        { scrollTop: el.scrollTop, scrollHeight: before.scrollHeight },
        el.scrollHeight,
      );
    }
    last.current = { firstSeq, scrollHeight: el.scrollHeight };
    if (older?.hasMore && !older.loading && el.scrollHeight <= el.clientHeight) older.loadOlder();
  });
}
