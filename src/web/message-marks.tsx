/**
 * Marks on a message beside its content: a stream still being written or aborted, and a direct
 * message's receiver.
 */

/** `to`: the receiver's id, or "you". */
export function DirectBadge({ to }: { to: string }) {
  return (
    <span className="badge badge-direct" title="Only the sender and the receiver see this message">
      direct to {to}
    </span>
  );
}

export function StreamNote(props: { state: "open" | "aborted"; reason?: string | undefined }) {
  if (props.state === "open") {
    return (
      <p className="stream-state open" aria-live="off">
        Writing…
      </p>
    );
  }
  return (
    <p className="stream-state aborted" role="status">
      Stopped before it was finished{props.reason ? ` (${props.reason})` : ""}
    </p>
  );
}
