/**
 * The conversation: stored messages by `seq`, then this tab's unsent ones. Sticks to the bottom
 * as messages arrive unless the reader has scrolled up to read older ones.
 */
import { useLayoutEffect, useRef } from "react";
import type { StoredMessage } from "../protocol/index.js";
import type { StreamUpdate } from "../sdk/index.js";
import { directReceiver } from "./direct.js";
import { HistoryEdge, useKeepScrollOnPrepend } from "./history-edge.js";
import { MessageItem, type MessageView } from "./message-item.js";
import type { OutgoingMessage } from "./message-state.js";

export interface MessageListProps {
  messages: readonly StoredMessage[];
  outbox: readonly OutgoingMessage[];
  selfId: string;
  onRetry: (id: string) => void;
  /** Streams being written (or aborted), shown after the stored messages until stored. */
  streams?: readonly StreamUpdate[];
  /** Display name of a principal (the id when unknown). */
  nameOf?: (principalId: string) => string;
  /** The receipt line for this user's own message at `seq`, shown under the latest one. */
  receiptFor?: (seq: number) => string;
  /** Older pages, read when the reader scrolls near the top. */
  older?: { hasMore: boolean; loading: boolean; loadOlder(): void };
}

export function MessageList(props: MessageListProps) {
  const { messages, outbox, selfId, onRetry, older, streams = [] } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const views = [
    ...withPeople(
      messages.map((m) => storedView(m, selfId)),
      props,
    ),
    ...unstoredStreams(streams, messages).map((s) => streamView(s, selfId)),
    ...outbox.map(outgoingView),
  ];
  const streamed = streams.reduce((sum, s) => sum + s.content.length, 0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the list grows.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [views.length, streamed]);
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
    directTo: directLabel(m, selfId),
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

/** A stream whose message is already here is the message: one item, never two. */
function unstoredStreams(streams: readonly StreamUpdate[], messages: readonly StoredMessage[]) {
  if (streams.length === 0) return [];
  const stored = new Set(messages.map((m) => m.id));
  return streams.filter((s) => !stored.has(s.id));
}

/** Same `id` (the React key) as the message it becomes, so the item is updated in place. */
function streamView(s: StreamUpdate, selfId: string): MessageView {
  return {
    id: s.id,
    seq: undefined,
    senderId: s.senderId,
    senderName: s.senderName,
    senderKind: s.senderKind,
    type: s.type,
    content: s.content,
    time: s.startedAt,
    own: s.senderId === selfId,
    delivery: "sent",
    stream: { state: s.state, reason: s.reason },
    directTo: directLabel(s, selfId),
  };
}

function directLabel(m: { receiverId?: string | undefined }, selfId: string): string | undefined {
  const to = directReceiver(m);
  return to === selfId ? "you" : to;
}
