/**
 * Drives the k6 suite's protocol core (lib/sio-protocol.js) over the `ws` package, the way
 * lib/k6-socket.js drives it over k6's WebSocket. For the vitest tests in this folder.
 */
import { WebSocket } from "ws";
import { SioClient, type SioSocket } from "./lib/sio-protocol.js";

export interface Driven {
  ws: WebSocket;
  client: SioClient;
  /** Every frame the client wrote, in order. */
  sent: string[];
  /** Resolves with the client's close reason. */
  closed: Promise<string>;
  /** Protocol errors the client reported. */
  errors: Error[];
}

const open = new Set<Driven>();

/** Opens a WebSocket to `url` and feeds it to a new SioClient. `dropPongs` loses every pong. */
export function drive(url: string, options: { dropPongs?: boolean } = {}): Driven {
  const ws = new WebSocket(url);
  const sent: string[] = [];
  const errors: Error[] = [];
  let resolveClosed: (reason: string) => void = () => {};
  const closed = new Promise<string>((resolve) => {
    resolveClosed = resolve;
  });
  const client = new SioClient({
    send(text) {
      sent.push(text);
      if (options.dropPongs && text === "3") return;
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close: () => ws.close(),
    onError: (err) => errors.push(err),
    onClose: (reason) => resolveClosed(reason),
  });
  ws.on("message", (data, isBinary) => {
    if (!isBinary) client.onText(data.toString());
  });
  ws.on("close", () => {
    open.delete(driven);
    client.onTransportClose("transport close");
  });
  ws.on("error", () => client.onTransportClose("transport error"));
  const driven: Driven = { ws, client, sent, closed, errors };
  open.add(driven);
  return driven;
}

/** Terminates every WebSocket `drive` opened that is still open. */
export function terminateAll(): void {
  for (const d of open) d.ws.terminate();
  open.clear();
}

/** Resolves when the namespace connects; rejects with the connect_error. */
export function connected(socket: SioSocket): Promise<SioSocket> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (err) => reject(err));
  });
}

/** The arguments of the next `event` on `socket`. */
export function nextEvent<T = unknown>(socket: SioSocket, event: string): Promise<T[]> {
  return new Promise((resolve) => {
    const handler = (...args: unknown[]) => {
      socket.off(event, handler);
      resolve(args as T[]);
    };
    socket.on(event, handler);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
