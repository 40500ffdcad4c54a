/**
 * A Socket.IO client at the frame level, over a plain WebSocket: it sends whatever it is given,
 * malformed or not, and records what comes back. It answers engine.io pings so that only what a
 * test sends decides whether the server closes it.
 */
import WebSocket from "ws";

export class RawSocket {
  readonly frames: string[] = [];
  readonly closed: Promise<void>;
  private listeners: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", () => resolve()));
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === "2") ws.send("3");
      this.frames.push(text);
      for (const wake of this.listeners.splice(0)) wake();
    });
    ws.once("close", () => {
      for (const wake of this.listeners.splice(0)) wake();
    });
  }

  /** An engine.io connection, opened; `namespace` given: connected to it with `token`. */
  static async open(url: string, namespace?: string, token?: string): Promise<RawSocket> {
    const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    const socket = new RawSocket(ws);
    await socket.next((f) => f.startsWith("0{"), 5_000);
    if (namespace) {
      ws.send(`40${namespace},${JSON.stringify({ token })}`);
      const reply = await socket.next(
        (f) => f.startsWith(`40${namespace},`) || f.startsWith(`44${namespace},`),
        5_000,
      );
      if (!reply.startsWith(`40${namespace},`)) throw new Error(`connect refused: ${reply}`);
    }
    return socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: string | Buffer): void {
    if (this.isOpen) this.ws.send(frame);
  }

  /** The first frame (already received or to come) that matches, or a rejection. */
  next(match: (frame: string) => boolean, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error("Timed out waiting for a frame")),
        timeoutMs,
      );
      const check = () => {
        const found = this.frames.find(match);
        if (found !== undefined) {
          clearTimeout(deadline);
          return resolve(found);
        }
        if (this.ws.readyState === WebSocket.CLOSED) {
          clearTimeout(deadline);
          return reject(new Error("Closed before the frame came"));
        }
        this.listeners.push(check);
      };
      check();
    });
  }

  /** The ack of packet `id` in `namespace`, parsed. */
  async ack(namespace: string, id: number, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const prefix = `43${namespace},${id}[`;
    const frame = await this.next((f) => f.startsWith(prefix), timeoutMs);
    return (JSON.parse(frame.slice(prefix.length - 1)) as [Record<string, unknown>])[0];
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Resolves with true once closed, false if still open after `timeoutMs`. */
export function closedWithin(socket: RawSocket, timeoutMs: number): Promise<boolean> {
  return Promise.race([
    socket.closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
  ]);
}
