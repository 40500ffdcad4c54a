/**
 * The plain Socket.IO server's side of the streams and people scenarios: it relays the same
 * events the gateway sends, with the same payload shapes, and stores nothing. It keeps an open
 * stream's deltas in memory only to put the final `message` together, as the gateway does;
 * a receipt's watermarks are the seq sent. The principal is the handshake's `auth.sub` (the
 * plain server has no tokens).
 */
import type { Socket } from "socket.io";

type Ack = (response: unknown) => void;
type Payload = Record<string, unknown>;

export function relayLive(socket: Socket, nextSeq: () => number): void {
  const principalId = String((socket.handshake.auth as { sub?: unknown }).sub ?? socket.id);
  const room = (payload: Payload) => `session_${String(payload.sessionId)}`;
  const open = new Map<string, { started: Payload; deltas: string[] }>();

  socket.on("stream:start", (payload: Payload, ack?: Ack) => {
    const startedAt = Date.now();
    const started = {
      ...payload,
      type: payload.type ?? "text",
      senderId: principalId,
      senderKind: "agent",
      senderName: principalId,
      visibility: payload.visibility ?? "session",
      startedAt,
    };
    open.set(String(payload.id), { started, deltas: [] });
    socket.to(room(payload)).emit("stream:start", started);
    ack?.({ status: "success", id: payload.id, startedAt });
  });

  socket.on("stream:delta", (payload: Payload, ack?: Ack) => {
    const stream = open.get(String(payload.id));
    if (stream) stream.deltas[Number(payload.index)] = String(payload.delta);
    socket.to(room(payload)).emit("stream:delta", {
      id: payload.id,
      sessionId: payload.sessionId,
      senderId: principalId,
      index: payload.index,
      delta: payload.delta,
    });
    ack?.({ status: "success", id: payload.id, index: payload.index });
  });

  socket.on("stream:end", (payload: Payload, ack?: Ack) => {
    const stream = open.get(String(payload.id));
    open.delete(String(payload.id));
    const createdAt = Date.now();
    const message = {
      id: payload.id,
      sessionId: payload.sessionId,
      seq: nextSeq(),
      senderId: principalId,
      senderKind: "agent",
      senderName: principalId,
      type: stream?.started.type ?? "text",
      content: payload.content ?? stream?.deltas.join("") ?? "",
      visibility: "session",
      timestamp: createdAt,
      createdAt,
      status: "sent",
    };
    socket.to(room(payload)).emit("message", message);
    ack?.({ status: "success", id: payload.id, seq: message.seq, createdAt, duplicate: false });
  });

  socket.on("stream:abort", (payload: Payload, ack?: Ack) => {
    open.delete(String(payload.id));
    socket.to(room(payload)).emit("stream:abort", {
      id: payload.id,
      sessionId: payload.sessionId,
      reason: payload.reason ?? "sender",
    });
    ack?.({ status: "success", id: payload.id });
  });

  socket.on("typing", (payload: Payload, ack?: Ack) => {
    socket.to(room(payload)).emit("typing", {
      sessionId: payload.sessionId,
      principalId,
      kind: "agent",
      name: principalId,
      state: payload.state,
    });
    ack?.({ status: "success", sessionId: payload.sessionId });
  });

  socket.on("receipt", (payload: Payload, ack?: Ack) => {
    const seq = Number(payload.seq);
    const event = { sessionId: payload.sessionId, principalId, delivered: seq, read: seq };
    socket.to(room(payload)).emit("receipt", event);
    ack?.({ status: "success", sessionId: payload.sessionId, delivered: seq, read: seq });
  });
}
