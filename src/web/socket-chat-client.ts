/**
 * A `ChatClient` straight over socket.io-client, used until the SDK (src/sdk) is available.
 * It keeps to PROTOCOL.md: rejoins every joined session after a reconnect with `lastSeq`, so
 * missed messages come back in the ack, and follows `session:head` with `sync`.
 */
import { io, type Socket } from "socket.io-client";
import type {
  ClientToServerEvents,
  ServerToClientEvents,
  StoredMessage,
} from "../protocol/index.js";
import type { ChatClient, ChatClientEvents, ConnectionStatus } from "./chat-client.js";

type Listeners = { [E in keyof ChatClientEvents]: Set<ChatClientEvents[E]> };

const ACK_TIMEOUT_MS = 10_000;
const FATAL_CODES = new Set(["AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED", "FORBIDDEN"]);

export class AckRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createSocketChatClient(options: { url: string; token: string }): ChatClient {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${options.url}/clients`, {
    auth: { token: options.token },
  });
  const listeners: Listeners = { status: new Set(), message: new Set(), error: new Set() };
  /** Joined sessions and the newest seq this client delivered in each (0: none yet). */
  const joined = new Map<string, number>();
  let status: ConnectionStatus = "connecting";
  let everConnected = false;

  const setStatus = (next: ConnectionStatus, reason?: unknown) => {
    status = next;
    for (const l of listeners.status) l(next, reason);
  };
  const deliver = (messages: readonly StoredMessage[]) => {
    for (const m of messages) {
      const seen = joined.get(m.sessionId);
      if (seen !== undefined && m.seq > seen) joined.set(m.sessionId, m.seq);
      for (const l of listeners.message) l(m);
    }
  };

  async function call<T>(event: keyof ClientToServerEvents, payload: unknown): Promise<T> {
    const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as {
      status: string;
      code?: string;
      message?: string;
    };
    if (ack.status !== "success") throw new AckRejected(ack.code ?? "INTERNAL", ack.message ?? "");
    return ack as T;
  }

  // Without a seq seen yet, history is the caller's business (it loads it after joining);
  // with one, the ack brings back what was missed while disconnected.
  async function join(sessionId: string) {
    const lastSeq = joined.get(sessionId) ?? 0;
    const ack = await call<{ headSeq: number; messages?: StoredMessage[] }>(
      "join_session",
      lastSeq > 0 ? { sessionId, lastSeq } : { sessionId },
    );
    deliver(ack.messages ?? []);
  }

  const connected = () =>
    socket.connected
      ? Promise.resolve()
      : new Promise<void>((resolve) => socket.once("connect", () => resolve()));

  socket.on("connect", () => {
    const rejoin = everConnected ? [...joined.keys()] : [];
    everConnected = true;
    setStatus("connected");
    for (const sessionId of rejoin) {
      join(sessionId).catch((err) => {
        for (const l of listeners.error) l(err);
      });
    }
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") return setStatus("disconnected", reason);
    // A server-side disconnect (a node draining) does not reconnect by itself.
    if (reason === "io server disconnect") socket.connect();
    setStatus("reconnecting", reason);
  });
  socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    const code = err.data?.code;
    if (code && FATAL_CODES.has(code)) return setStatus("failed", err);
    setStatus(everConnected ? "reconnecting" : "connecting", err);
  });
  socket.io.on("reconnect_failed", () => setStatus("failed", "Gave up reconnecting"));
  socket.on("message", (m) => deliver([m]));
  socket.on("session:head", ({ sessionId, seq }) => {
    const seen = joined.get(sessionId);
    if (seen === undefined || seq <= seen) return;
    call<{ messages: StoredMessage[] }>("sync", { sessionId, afterSeq: seen })
      .then((r) => deliver(r.messages))
      .catch(() => {});
  });

  return {
    get status() {
      return status;
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    /** Resolves once joined, waiting for the connection if need be. */
    async joinSession(sessionId) {
      await connected();
      if (!joined.has(sessionId)) joined.set(sessionId, 0);
      await join(sessionId);
    },
    async leaveSession(sessionId) {
      joined.delete(sessionId);
      if (socket.connected) await call("leave_session", { sessionId });
    },
    async send(input) {
      const ack = await call<{ id: string; seq: number; createdAt: number }>("message", input);
      return { id: ack.id, seq: ack.seq, createdAt: ack.createdAt };
    },
    async close() {
      socket.close();
      joined.clear();
    },
  };
}
