/**
 * The one place a stream reaches this node's sockets (PROTOCOL.md "Streams"). Every
 * `stream:start`, `stream:delta` and `stream:abort` goes through `emitStreamEvent`, and the
 * `join_session` ack's list through `openStreamsFor`, each with the stream's audience, so who may
 * see a stream (a direct stream: its sender and receiver only) is decided here and nowhere else.
 */
import { canSee, messageAudience } from "../messaging/audience.js";
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
import { localAudience } from "./audience-emit.js";
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
   * socket: the session's room in both namespaces, or a direct stream's sender and receiver.
   */
  function emitStreamEvent<E extends keyof StreamEvents>(
    stream: StreamAudience,
    event: E,
    payload: StreamEvents[E],
    exceptSocketId?: string,
  ): void {
    const audience = messageAudience(stream);
    for (const nsp of namespaces) {
      const target = localAudience(nsp, stream.sessionId, audience, exceptSocketId);
      if (!target) continue;
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
      case "sync":
      case "snapshot":
        // Between nodes only: a snapshot's stream reaches sockets through their join ack.
        return;
    }
  };
}

/** The session's open streams that `viewer` may see, for its `join_session` ack. */
export function openStreamsFor(
  streams: NodeStreams,
  sessionId: string,
  viewer: Principal,
): OpenStream[] {
  return streams.open(sessionId).filter((stream) => canSee(messageAudience(stream), viewer.id));
}
