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

export function limitPartialBinary(conn: EngineSocket, deps: BinaryDeadlineDeps): void {
  let missing = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
    missing = 0;
  };
  conn.on("message", (data: unknown) => {
    // socket.io's decoder saw the frame first and may have closed the connection over it.
    if (conn.readyState !== "open") return stop();
    if (typeof data === "string") {
      const header = BINARY_HEADER.exec(data);
      if (!header) return;
      stop();
      missing = Number(header[1]);
      timer = setTimeout(() => {
        deps.logger.warn(
          { conn: connId(conn), missing, timeoutMs: deps.timeoutMs },
          "closing a connection whose binary packet stayed incomplete",
        );
        deps.metrics.socketDrops.inc({ reason: "incomplete_binary" });
        closeNow(conn);
      }, deps.timeoutMs);
      return;
    }
    if (missing > 0 && --missing === 0) stop();
  });
  conn.once("close", stop);
}
