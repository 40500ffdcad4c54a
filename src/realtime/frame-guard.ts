/**
 * Frame limits that must hold before socket.io touches a packet's arguments. socket.io spreads an
 * event's arguments onto the stack several times (`dispatch` → `emitUntyped.apply` →
 * EventEmitter `emit(...args)` → the listener), inside a `process.nextTick`; tens of thousands of
 * arguments overflow the stack there and the uncaught RangeError ends the process. So the decoder
 * cuts an over-long argument list down to the event name and marks it, and `refuseOversized` answers
 * the marked event `INVALID_PAYLOAD` before any handler runs (PROTOCOL.md section 4).
 */
import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { refuse } from "./ack.js";
import type { GatewaySocket } from "./types.js";

/** The event name and one payload; the ack travels as the packet id, not as an argument. */
export const MAX_EVENT_ARGS = 2;
/** The server never asks clients for acks, so an ack packet needs no arguments to speak of. */
export const MAX_ACK_ARGS = 2;
/**
 * Binary attachments per packet. The protocol uses none; one is admitted so that a client that
 * sends bytes by mistake gets an `INVALID_PAYLOAD` ack instead of a silently closed connection.
 */
export const MAX_ATTACHMENTS = 1;
/** A second oversized event within this window closes the socket. */
export const REPEAT_WINDOW_MS = 60_000;

const OVERSIZED = Symbol("tkr.oversizedArgs");
type Marked = unknown[] & { [OVERSIZED]?: number };

/** Cuts an over-long argument list in place, before socket.io's own listener sees the packet. */
function limitArguments(packet: Packet): void {
  const data: unknown = packet.data;
  if (!Array.isArray(data)) return;
  const isEvent = packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT;
  const max = isEvent ? MAX_EVENT_ARGS : MAX_ACK_ARGS;
  if (data.length <= max) return;
  if (!isEvent) {
    packet.data = [];
    return;
  }
  const cut: Marked = [data[0]];
  cut[OVERSIZED] = data.length - 1;
  packet.data = cut;
}

class GuardedDecoder extends Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
    // Registered in the constructor, so it runs before the listener socket.io adds afterwards.
    this.on("decoded", limitArguments);
  }
}

/** The `parser` option of the Socket.IO server: the standard one with the limits above. */
export const guardedParser: { Encoder: typeof Encoder; Decoder: typeof Decoder } = {
  Encoder,
  Decoder: GuardedDecoder,
};

export interface FrameGuardDeps {
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

/**
 * Refuses an event the decoder marked as oversized and returns true, before every other check; a
 * repeat within `REPEAT_WINDOW_MS` closes the socket. Returns false for any other event. The
 * time of the last offence is kept on `socket.data`, so a socket that never offends carries
 * nothing.
 */
export function refuseOversized(
  socket: GatewaySocket,
  event: unknown[],
  deps: FrameGuardDeps,
): boolean {
  const count = (event as Marked)[OVERSIZED];
  if (count === undefined) return false;
  deps.metrics.errors.inc({ code: "INVALID_PAYLOAD", surface: "socket" });
  refuse(event, {
    status: "error",
    code: "INVALID_PAYLOAD",
    message: `An event takes one payload and an ack; got ${count} arguments`,
    retryable: false,
  });
  const at = (deps.now ?? Date.now)();
  const last = socket.data.lastOffence;
  socket.data.lastOffence = at;
  if (last === undefined || at - last >= REPEAT_WINDOW_MS) return true;
  deps.logger.warn(
    { socket: socket.id, principal: socket.data.principal.id, args: count },
    "closing a socket that repeated an oversized event",
  );
  deps.metrics.socketDrops.inc({ reason: "oversized_event" });
  socket.emit("gateway:error", {
    code: "INVALID_PAYLOAD",
    message: "Repeated events with too many arguments; the connection is closed",
    retryable: false,
  });
  socket.disconnect(true);
  return true;
}
