/**
 * The conversation: stored messages by `seq`, then this tab's unsent ones. Sticks to the bottom
 * as messages arrive unless the reader has scrolled up to read older ones.
 */
import { useLayoutEffect, useRef } from "react";
import type { StoredMessage } from "../protocol/index.js";
import { HistoryEdge, useKeepScrollOnPrepend } from "./history-edge.js";
import { MessageItem, type MessageView } from "./message-item.js";
import type { OutgoingMessage } from "./message-state.js";

export interface MessageListProps {
  messages: readonly StoredMessage[];
  outbox: readonly OutgoingMessage[];
  selfId: string;
  onRetry: (id: string) => void;
  /** Display name of a principal (the id when unknown). */
  nameOf?: (principalId: string) => string;
  /** The receipt line for this user's own message at `seq`, shown under the latest one. */
  receiptFor?: (seq: number) => string;
  /** Older pages, read when the reader scrolls near the top. */
  older?: { hasMore: boolean; loading: boolean; loadOlder(): void };
}

export function MessageList(props: MessageListProps) {
  const { messages, outbox, selfId, onRetry, older } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const views = [
    ...withPeople(
      messages.map((m) => storedView(m, selfId)),
      props,
    ),
    ...outbox.map(outgoingView),
  ];

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the list grows.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [views.length]);
  useKeepScrollOnPrepend(scroller, pinned, messages[0]?.seq, older);

  return (
    <div
      className="message-scroller"
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
        if (el.scrollTop < 80) older?.loadOlder();
      }}
    >
      {older ? <HistoryEdge hasMore={older.hasMore} loading={older.loading} /> : null}
      {views.length === 0 ? <p className="empty muted">No messages yet. Say hello!</p> : null}
      <ol className="message-list" role="log" aria-label="Messages" aria-live="polite">
        {views.map((m) => (
          <MessageItem key={m.id} message={m} onRetry={onRetry} />
        ))}
      </ol>
    </div>
  );
}

/** Names senders, and puts the receipt line under this user's latest stored message. */
function withPeople(views: MessageView[], props: MessageListProps): MessageView[] {
  const { nameOf, receiptFor } = props;
  const latestOwn = views.findLast((v) => v.own)?.id;
  return views.map((v) => ({
    ...v,
    senderName: v.senderName ?? nameOf?.(v.senderId),
    receipt: v.id === latestOwn && v.seq !== undefined ? receiptFor?.(v.seq) : undefined,
  }));
}

function storedView(m: StoredMessage, selfId: string): MessageView {
  return {
    id: m.id,
    seq: m.seq,
    senderId: m.senderId,
    senderKind: m.senderKind,
    type: m.type,
    content: m.content,
    time: m.createdAt,
    own: m.senderId === selfId,
    delivery: "sent",
    senderName: m.senderName,
  };
}

function outgoingView(m: OutgoingMessage): MessageView {
  return {
    id: m.id,
    seq: undefined,
    senderId: m.senderId,
    senderKind: "user",
    type: m.type,
    content: m.content,
    time: m.createdAt,
    own: true,
    delivery: m.state,
    error: m.error,
  };
}
