/**
 * Ends every Engine.IO session on shutdown in a way every standard client reads as a lost
 * connection (and so reconnects by itself), never as a goodbye. A polling transport's orderly
 * close answers the pending poll with an Engine.IO CLOSE packet, which python-socketio takes as
 * the server ending the session for good; a 503 on that poll is a transport error to every
 * client. WebSocket transports get a close frame, which all of them treat as a lost connection.
 */
import type { ServerResponse } from "node:http";
import type { Server as EngineServer, Socket as EngineSocket } from "engine.io";

interface PollingInternals {
  name: string;
  writable: boolean;
  res?: ServerResponse | null;
  discard(): void;
}

export function dropTransports(engine: EngineServer): void {
  const clients = (engine as unknown as { clients: Record<string, EngineSocket> }).clients;
  for (const client of Object.values(clients)) {
    const transport = client.transport as unknown as PollingInternals;
    if (transport.name === "polling") {
      const pending = transport.res;
      // Not writable and discarded: the transport closes at once without writing a CLOSE packet.
      transport.writable = false;
      transport.discard();
      if (pending && !pending.headersSent) {
        pending.writeHead(503, { "content-type": "text/plain", connection: "close" });
        pending.end("shutting down");
      }
    }
    client.close(true);
  }
}

/** From now on the Engine.IO handshake itself is refused, before any session exists to close. */
export function refuseHandshakes(engine: EngineServer): void {
  const opts = (engine as unknown as { opts: { allowRequest?: unknown } }).opts;
  opts.allowRequest = (_req: unknown, callback: (err: string | null, ok: boolean) => void) =>
    callback("This node is shutting down; reconnect", false);
}
