/**
 * One message: who sent it (with an agent/user badge), its type when not plain text, its time
 * and `seq`, the content, and for this user's own messages whether it is sending, sent or failed.
 */
import type { MessageType, PrincipalKind } from "../protocol/index.js";
import { formatFullTime, formatTime } from "./format-time.js";
import { MessageBody } from "./message-body.js";
import { DirectBadge, StreamNote } from "./message-marks.js";

export interface MessageView {
  id: string;
  /** Absent while the message is not stored yet. */
  seq: number | undefined;
  senderId: string;
  senderKind: PrincipalKind;
  type: MessageType;
  content: string;
  time: number;
  own: boolean;
  delivery: "pending" | "sent" | "failed";
  error?: string | undefined;
  /** A stream not stored yet: still being written, or aborted. */
  stream?: { state: "open" | "aborted"; reason?: string | undefined } | undefined;
  /** A direct message: its receiver ("you" when it is this user). */
  directTo?: string | undefined;
  /** Display name of the sender; the id when unknown. */
  senderName?: string | undefined;
  /** "Read by …" / "delivered to …" for a sent message, when it is shown for this one. */
  receipt?: string | undefined;
}

export function MessageItem(props: { message: MessageView; onRetry: (id: string) => void }) {
  const { message: m, onRetry } = props;
  const classes = ["message", `kind-${m.senderKind}`, `type-${m.type}`, m.own ? "own" : ""];
  if (m.stream) classes.push(m.stream.state === "open" ? "streaming" : "stream-aborted");
  return (
    <li
      className={classes.join(" ").trim()}
      data-seq={m.seq}
      data-delivery={m.delivery}
      data-sender={m.senderId}
      data-id={m.id}
      data-stream={m.stream?.state}
    >
      <div className="message-meta">
        <span className="sender" title={m.senderId}>
          {m.own ? "You" : (m.senderName ?? m.senderId)}
        </span>
        <span className={`badge badge-${m.senderKind}`}>{m.senderKind}</span>
        {m.type !== "text" ? <span className="badge badge-type">{m.type}</span> : null}
        {m.directTo !== undefined ? <DirectBadge to={m.directTo} /> : null}
        <time dateTime={new Date(m.time).toISOString()} title={formatFullTime(m.time)}>
          {formatTime(m.time)}
        </time>
        {m.seq !== undefined ? (
          <span className="seq" title="Sequence number in this session">
            #{m.seq}
          </span>
        ) : null}
      </div>
      <MessageBody type={m.type} content={m.content} />
      {m.stream ? <StreamNote state={m.stream.state} reason={m.stream.reason} /> : null}
      {m.own && !m.stream ? <Delivery message={m} onRetry={onRetry} /> : null}
    </li>
  );
}

function Delivery({ message, onRetry }: { message: MessageView; onRetry: (id: string) => void }) {
  if (message.delivery === "pending") return <p className="delivery pending">Sending…</p>;
  if (message.delivery === "sent") {
    return (
      <p className="delivery sent" data-testid={message.receipt ? "receipt" : undefined}>
        {message.receipt ?? "Sent"}
      </p>
    );
  }
  return (
    <p className="delivery failed" role="alert">
      Not sent{message.error ? `: ${message.error}` : ""}{" "}
      <button type="button" className="link" onClick={() => onRetry(message.id)}>
        Retry
      </button>
    </p>
  );
}
