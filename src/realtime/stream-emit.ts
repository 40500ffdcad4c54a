/**
 * The one place a stream reaches this node's sockets (PROTOCOL.md "Streams"). Every
 * `stream:start`, `stream:delta` and `stream:abort` goes through `emitStreamEvent`, and the
 * `join_session` ack's list through `openStreamsFor`, each with the stream's audience, so who may
 * see a stream (a direct stream: its sender and receiver only) is decided here and nowhere else.
 */
import { sessionRoom } from "../cluster/rooms.js";
import type { NodeStreams, Principal } from "../messaging/index.js";
import type {
  OpenStream,
  StreamAbortEvent,
  StreamAudience,
  StreamDeltaEvent,
  StreamRelay,
  StreamStartEvent,
} from "../protocol/index.js";
import { audienceOf } from "../protocol/index.js";
import type { GatewayNamespace } from "./types.js";

type StreamEvents = {
  "stream:start": StreamStartEvent;
  "stream:delta": StreamDeltaEvent;
  "stream:abort": StreamAbortEvent;
};

export type StreamEmitter = (relay: StreamRelay, exceptSocketId?: string) => void;

export function createStreamEmitter(namespaces: GatewayNamespace[]): StreamEmitter {
  /**
   * Emits one stream event to this node's sockets that may see the stream, except the sending
   * socket. Today that is the session's room in both namespaces.
   */
  function emitStreamEvent<E extends keyof StreamEvents>(
    stream: StreamAudience,
    event: E,
    payload: StreamEvents[E],
    exceptSocketId?: string,
  ): void {
    for (const nsp of namespaces) {
      const room = nsp.local.to(sessionRoom(stream.sessionId));
      const target = exceptSocketId ? room.except(exceptSocketId) : room;
      (target.emit as (event: E, payload: StreamEvents[E]) => boolean)(event, payload);
    }
  }

  return (relay, exceptSocketId) => {
    switch (relay.kind) {
      case "start":
        emitStreamEvent(audienceOf(relay.event), "stream:start", relay.event, exceptSocketId);
        return;
      case "delta":
        // Always set by the registry, which matched the delta to its stream.
        if (relay.to) emitStreamEvent(relay.to, "stream:delta", relay.event, exceptSocketId);
        return;
      case "abort":
        emitStreamEvent(relay.to, "stream:abort", relay.event, exceptSocketId);
        return;
      case "end":
        // Not a client event: the stored `message` is.
        return;
    }
  };
}

/** The session's open streams that `viewer` may see, for its `join_session` ack. */
export function openStreamsFor(
  streams: NodeStreams,
  sessionId: string,
  _viewer: Principal,
): OpenStream[] {
  return streams.open(sessionId);
}
