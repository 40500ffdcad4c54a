/**
 * The few engine.io internals the frame and buffer limits need, read defensively: engine.io keeps
 * them private in its typings, and a missing field must only weaken a limit, never throw.
 */
import type { Socket as EngineSocket } from "engine.io";

interface WsLike {
  bufferedAmount?: number;
  terminate?: () => void;
}

export function connId(conn: EngineSocket): string {
  return (conn as unknown as { id?: string }).id ?? "?";
}

function webSocketOf(conn: EngineSocket): WsLike | undefined {
  if (conn.transport?.name !== "websocket") return undefined;
  return (conn.transport as unknown as { socket?: WsLike }).socket;
}

/** Bytes the WebSocket holds in user space (ws's sender queue and the TCP socket's buffer). */
export function webSocketBuffered(conn: EngineSocket): number {
  return webSocketOf(conn)?.bufferedAmount ?? 0;
}

/**
 * Closes the connection now, buffers and all. A plain close would first wait for the queue to
 * drain (engine.io) or for the peer to read up to the close frame (ws, up to 30 s): neither
 * happens for a peer that does not read, and the memory would stay held meanwhile.
 */
export function closeNow(conn: EngineSocket): void {
  const ws = webSocketOf(conn);
  if (ws?.terminate) ws.terminate();
  else conn.close(true);
}
