/**
 * A binary Socket.IO packet arrives as a text header announcing N attachments, then N binary
 * frames; socket.io's decoder holds the header and every attachment until the last one comes.
 * A client that never sends it would pin them for the life of the connection, so the packet must
 * complete within `timeoutMs` or the connection is closed (PROTOCOL.md section 1).
 */
import type { Socket as EngineSocket } from "engine.io";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { closeNow, connId } from "./engine-conn.js";

/** `5` (binary event) or `6` (binary ack), the attachment count, then `-`. */
const BINARY_HEADER = /^[56](\d{1,9})-/;

export interface BinaryDeadlineDeps {
  timeoutMs: number;
  logger: Logger;
  metrics: Metrics;
}

/** What a watched connection carries while a binary packet is incomplete. */
interface Watched {
  tkrMissing?: number;
  tkrBinaryTimer?: NodeJS.Timeout | undefined;
}
type WatchedConn = EngineSocket & Watched;

function stop(conn: WatchedConn): void {
  if (conn.tkrBinaryTimer === undefined) return;
  clearTimeout(conn.tkrBinaryTimer);
  conn.tkrBinaryTimer = undefined;
  conn.tkrMissing = 0;
}

/**
 * The deadline for every engine.io connection: shared listeners (engine.io calls them with
 * `this` = the connection) and a timer only while a binary packet is incomplete.
 */
export function partialBinaryLimit(deps: BinaryDeadlineDeps): (conn: EngineSocket) => void {
  function expire(conn: WatchedConn): void {
    deps.logger.warn(
      { conn: connId(conn), missing: conn.tkrMissing, timeoutMs: deps.timeoutMs },
      "closing a connection whose binary packet stayed incomplete",
    );
    deps.metrics.socketDrops.inc({ reason: "incomplete_binary" });
    closeNow(conn);
  }
  function onMessage(this: WatchedConn, data: unknown): void {
    // socket.io's decoder saw the frame first and may have closed the connection over it.
    if (this.readyState !== "open") {
      stop(this);
      return;
    }
    if (typeof data === "string") {
      const header = BINARY_HEADER.exec(data);
      if (!header) return;
      stop(this);
      this.tkrMissing = Number(header[1]);
      this.tkrBinaryTimer = setTimeout(expire, deps.timeoutMs, this);
      return;
    }
    const missing = this.tkrMissing ?? 0;
    if (missing > 0) {
      this.tkrMissing = missing - 1;
      if (missing === 1) stop(this);
    }
  }
  function onClose(this: WatchedConn): void {
    stop(this);
  }
  return (conn) => {
    conn.on("message", onMessage);
    conn.on("close", onClose);
  };
}
