/**
 * Older messages of the open session, a page at a time through the SDK's `history` (`sync` with
 * `beforeSeq`). The first page is read as soon as the session's head is known, so the newest
 * messages show on open; the rest as the reader scrolls up.
 */
import { type Dispatch, useCallback, useEffect, useReducer, useRef } from "react";
import type { StoredMessage } from "../protocol/index.js";
import type { GatewayClient } from "../sdk/index.js";
import {
  type HistoryPaging,
  historyPagingReducer,
  initialHistoryPaging,
  nextOlderPage,
} from "./history-paging.js";
import type { MessageAction } from "./message-state.js";

/** Messages per history page. */
export const HISTORY_PAGE_SIZE = 50;

export interface OlderHistory extends HistoryPaging {
  loadOlder(): void;
}

export function useOlderHistory(options: {
  client: GatewayClient | undefined;
  sessionId: string;
  /** The session's head when it was opened; undefined until known. */
  headSeq: number | undefined;
  messages: readonly StoredMessage[];
  dispatch: Dispatch<MessageAction>;
}): OlderHistory {
  const { client, sessionId, headSeq, messages, dispatch } = options;
  const [paging, page] = useReducer(historyPagingReducer, initialHistoryPaging);
  const latest = useRef({ paging, messages, headSeq });
  latest.current = { paging, messages, headSeq };

  const loadOlder = useCallback(() => {
    const now = latest.current;
    const next = nextOlderPage(now.paging, now.messages, now.headSeq);
    if (!client || !next) return;
    // Marked at once, not on the next render: scroll events come faster than renders.
    latest.current = { ...now, paging: { ...now.paging, loading: true } };
    page({ type: "requested" });
    client
      .history(sessionId, { beforeSeq: next.beforeSeq, limit: HISTORY_PAGE_SIZE })
      .then((result) => {
        dispatch({ type: "received", messages: result.messages });
        page({ type: "loaded", hasMore: result.hasMore });
      })
      .catch(() => page({ type: "failed" }));
  }, [client, sessionId, dispatch]);

  const started = useRef(false);
  useEffect(() => {
    if (headSeq === undefined || started.current) return;
    started.current = true;
    loadOlder();
  }, [headSeq, loadOlder]);

  const oldest = messages[0]?.seq ?? (headSeq ?? 0) + 1;
  return { ...paging, hasMore: paging.hasMore && oldest > 1, loadOlder };
}
