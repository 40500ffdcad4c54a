/**
 * The connection indicator in the top bar: a coloured dot and a word, plus the reason whenever
 * the connection is not healthy. `role="status"` makes screen readers announce changes.
 */
import type { ClientStatus } from "../sdk/index.js";

const LABELS: Record<ClientStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Offline",
  failed: "Connection failed",
};

export function ConnectionStatusIndicator(props: {
  status: ClientStatus;
  reason?: string | undefined;
}) {
  const { status, reason } = props;
  return (
    <div className="status" data-status={status} role="status" aria-live="polite">
      <span className="status-dot" aria-hidden="true" />
      <span className="status-label">{LABELS[status]}</span>
      {reason && status !== "connected" ? (
        <span className="status-reason" title={reason}>
          {reason}
        </span>
      ) : null}
    </div>
  );
}
