/**
 * A limit on what one connection may have queued for a client that does not read: engine.io's
 * write buffer (long-polling between two GETs, or a WebSocket still busy with its last send) plus
 * what the WebSocket itself holds. Past `maxBytes` the connection is closed at once, which frees
 * the queue; the client reconnects and recovers by `lastSeq` as after any drop (PROTOCOL.md
 * section 5). A single packet larger than the limit still goes out when nothing else is queued, so
 * a page the server chose to send can always be delivered to a client that reads.
 */
import type { Socket as EngineSocket } from "engine.io";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { closeNow, connId, webSocketBuffered } from "./engine-conn.js";

interface EnginePacket {
  type: string;
  data?: unknown;
}

/** Size in memory, near enough: characters for a string (one or two bytes each in V8). */
function packetBytes(packet: EnginePacket): number {
  const { data } = packet;
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

export interface BackpressureDeps {
  maxBytes: number;
  logger: Logger;
  metrics: Metrics;
}

/** What a watched connection carries: two fields instead of closures. */
interface Watched {
  /** Bytes in engine.io's write buffer; it is handed to the transport (and emptied) on `flush`. */
  tkrPending?: number;
  tkrDropping?: boolean;
}
type WatchedConn = EngineSocket & Watched;

/**
 * The watch for every engine.io connection's outgoing queue: its listeners are shared (engine.io
 * calls them with `this` = the connection), so a connection costs two fields, not closures.
 */
export function outgoingLimit(deps: BackpressureDeps): (conn: EngineSocket) => void {
  function onPacketCreate(this: WatchedConn, packet: EnginePacket): void {
    if (this.tkrDropping) return;
    const size = packetBytes(packet);
    const pending = this.tkrPending ?? 0;
    const queued = pending + webSocketBuffered(this);
    this.tkrPending = pending + size;
    if (queued === 0 || queued + size <= deps.maxBytes) return;
    this.tkrDropping = true;
    deps.logger.warn(
      {
        conn: connId(this),
        transport: this.transport?.name,
        queuedBytes: queued + size,
        maxBytes: deps.maxBytes,
      },
      "dropping a connection whose client does not read: outgoing buffer over the limit",
    );
    deps.metrics.socketDrops.inc({ reason: "outgoing_buffer" });
    // Not from inside the emit that is queueing this packet (a broadcast may be iterating rooms).
    setImmediate(closeNow, this);
  }
  function onFlush(this: WatchedConn): void {
    this.tkrPending = 0;
  }
  return (conn) => {
    conn.on("packetCreate", onPacketCreate);
    conn.on("flush", onFlush);
  };
}
