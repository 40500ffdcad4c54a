import { describe, expect, it } from "vitest";
import {
  type HistoryPaging,
  historyPagingReducer,
  initialHistoryPaging,
  nextOlderPage,
  scrollTopAfterPrepend,
} from "./history-paging.js";

const held = (...seqs: number[]) => seqs.map((seq) => ({ seq }));

describe("older history paging", () => {
  it("asks for the page just before the oldest message held, or before the head when none is", () => {
    expect(nextOlderPage(initialHistoryPaging, held(41, 42, 43), 43)).toEqual({ beforeSeq: 41 });
    expect(nextOlderPage(initialHistoryPaging, [], 7)).toEqual({ beforeSeq: 8 });
  });

  it("asks for nothing before the session's head is known, while a page is on its way, or once none is older", () => {
    expect(nextOlderPage(initialHistoryPaging, [], undefined)).toBeUndefined();
    const loading = historyPagingReducer(initialHistoryPaging, { type: "requested" });
    expect(nextOlderPage(loading, held(41), 50)).toBeUndefined();
    const done = historyPagingReducer(loading, { type: "loaded", hasMore: false });
    expect(done).toEqual<HistoryPaging>({ loading: false, hasMore: false });
    expect(nextOlderPage(done, held(41), 50)).toBeUndefined();
    expect(nextOlderPage(initialHistoryPaging, held(1, 2), 2)).toBeUndefined();
  });

  it("can ask again after a failed page", () => {
    const loading = historyPagingReducer(initialHistoryPaging, { type: "requested" });
    const failed = historyPagingReducer(loading, { type: "failed" });
    expect(nextOlderPage(failed, held(41), 50)).toEqual({ beforeSeq: 41 });
  });

  it("keeps the message under the reader's eye where it was when a page is put above it", () => {
    // 300px were added above: the same content is now 300px further down.
    expect(scrollTopAfterPrepend({ scrollTop: 12, scrollHeight: 1000 }, 1300)).toBe(312);
  });
});
