/**
 * One socket.io-client socket and everything about keeping it up: status, token refresh on
 * AUTH_EXPIRED, reconnects that socket.io-client does not do by itself (after a refused
 * handshake or a server-side disconnect), the zombie check, and calls with an ack timeout.
 *
 * socket.io-client reconnects on its own only when the transport is lost. After `connect_error`
 * carrying a code (the namespace middleware refused) or an `io server disconnect`, the socket
 * stays down until `connect()` is called again, so those paths are handled here, with the same
 * backoff.
 */
import { io, type Socket } from "socket.io-client";
import type {
  ClientEventName,
  ClientToServerEvents,
  EventResults,
  ServerToClientEvents,
} from "../protocol/events.js";
import { Backoff, sleep } from "./backoff.js";
import { Calls, type Emitting } from "./calls.js";
import {
  asClientError,
  ClientClosedError,
  type ClientError,
  fromAck,
  type GatewayError,
  GatewayNetworkError,
  type GatewayTimeoutError,
} from "./errors.js";
import { Heartbeat } from "./heartbeat.js";
import type { ResolvedOptions } from "./options.js";
import type { TokenSource } from "./token.js";

/**
 * - `connecting`: not connected yet since the client was created;
 * - `connected`: the socket is up and answers;
 * - `reconnecting`: it was up and is being brought back (sends wait in the outbox);
 * - `disconnected`: `close()` was called;
 * - `failed`: retrying cannot help (AUTH_INVALID, FORBIDDEN, AUTH_EXPIRED without getToken,
 *   `reconnection.maxAttempts` exhausted); the client is stopped.
 */
export type ClientStatus = "connecting" | "connected" | "reconnecting" | "disconnected" | "failed";

/** The notice the gateway sends just before it ends a connection (e.g. AUTH_EXPIRED). */
export interface ServerNotice {
  code: string;
  message: string;
  retryable: boolean;
}

type ServerEvents = ServerToClientEvents & { "gateway:error": (notice: ServerNotice) => void };
type GatewaySocket = Socket<ServerEvents, ClientToServerEvents>;

export interface ConnectionHooks {
  status(status: ClientStatus, reason: string | undefined): void;
  error(error: ClientError): void;
  /** After every successful (re)connect, once the status is `connected`. */
  connected(): void;
  /** Once, when the status turns `failed`. */
  failed(error: ClientError): void;
  /** Each time the token changes. */
  token(token: string): void;
  message: ServerToClientEvents["message"];
  context: ServerToClientEvents["context:update"];
  head: ServerToClientEvents["session:head"];
  typing: ServerToClientEvents["typing"];
  receipt?: ServerToClientEvents["receipt"];
  /** This principal was added to a session, or removed from one (on any node). */
  sessionAdded?: ServerToClientEvents["session:added"];
  sessionRemoved?: ServerToClientEvents["session:removed"];
  /** Someone joined or left the membership of a session this socket is in. */
  memberAdded?: ServerToClientEvents["member:added"];
  memberRemoved?: ServerToClientEvents["member:removed"];
}

export class Connection {
  private currentStatus: ClientStatus = "connecting";
  private socket: GatewaySocket | undefined;
  private readonly calls = new Calls();
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private readonly backoff: Backoff;
  /** Failed attempts since the last successful connect. */
  private failures = 0;
  private refreshes = 0;
  private notice: ServerNotice | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private forcing = false;
  private everConnected = false;
  private finalError: ClientError | undefined;
  private readonly abort = new AbortController();
  private readonly heartbeat: Heartbeat;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tokens: TokenSource,
    private readonly hooks: ConnectionHooks,
  ) {
    const { delayMs, maxDelayMs, jitter } = options.reconnection;
    this.backoff = new Backoff({ minMs: delayMs, maxMs: maxDelayMs, jitter });
    this.heartbeat = new Heartbeat({
      intervalMs: options.heartbeat.intervalMs,
      timeoutMs: options.heartbeat.timeoutMs,
      ping: (timeoutMs) => this.request("ping", {}, timeoutMs),
      onDead: (error) => this.replaceZombie(error),
    });
  }

  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** The error that made the client fail, once it has. */
  get failure(): ClientError | undefined {
    return this.finalError;
  }

  get connected(): boolean {
    return this.currentStatus === "connected" && this.socket?.connected === true;
  }

  private get over(): boolean {
    return this.currentStatus === "disconnected" || this.currentStatus === "failed";
  }

  /** Gets a first token when only getToken was given, retrying with backoff until it works. */
  async obtainToken(): Promise<void> {
    while (this.tokens.token === undefined && !this.over) {
      try {
        this.hooks.token(await this.tokens.refresh());
      } catch (error) {
        this.hooks.error(asClientError(error, "getToken failed"));
        await sleep(this.backoff.next(), this.abort.signal);
      }
    }
  }

  /** Opens the socket. Call once, after `obtainToken`. */
  open(): void {
    if (this.over || this.socket) return;
    const { reconnection } = this.options;
    const socket: GatewaySocket = io(`${this.options.url}${this.options.namespace}`, {
      ...this.options.socketOptions,
      autoConnect: false,
      // Each client gets its own Manager, so replacing a zombie never touches another client.
      forceNew: true,
      transports: this.options.transports,
      reconnection: true,
      // Attempts are counted here (socket.io-client does not see refused handshakes).
      reconnectionAttempts: Number.POSITIVE_INFINITY,
      reconnectionDelay: reconnection.delayMs,
      reconnectionDelayMax: reconnection.maxDelayMs,
      randomizationFactor: reconnection.jitter,
      timeout: this.options.connectTimeoutMs,
      // A function, so each attempt presents the token current at that moment.
      auth: (cb) => cb({ token: this.tokens.token }),
    });
    this.socket = socket;
    socket.on("connect", () => this.onConnect());
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (error) => this.onConnectError(error));
    socket.on("gateway:error", (notice) => this.onNotice(notice));
    socket.on("message", (message) => this.hooks.message(message));
    socket.on("context:update", (update) => this.hooks.context(update));
    socket.on("session:head", (head) => this.hooks.head(head));
    socket.on("typing", (event) => this.hooks.typing(event));
    socket.on("receipt", (event) => this.hooks.receipt?.(event));
    socket.on("session:added", (event) => this.hooks.sessionAdded?.(event));
    socket.on("session:removed", (event) => this.hooks.sessionRemoved?.(event));
    socket.on("member:added", (event) => this.hooks.memberAdded?.(event));
    socket.on("member:removed", (event) => this.hooks.memberRemoved?.(event));
    socket.connect();
  }

  /**
   * Emits `event` and waits for its ack. Rejects with GatewayNetworkError when not connected or
   * when the connection drops first, GatewayTimeoutError after `timeoutMs`, and GatewayError
   * for an error ack. Never queues: a call made offline fails at once.
   */
  request<E extends ClientEventName>(
    event: E,
    payload: unknown,
    timeoutMs = this.options.ackTimeoutMs,
  ): Promise<EventResults[E]> {
    const socket = this.socket;
    if (!socket?.connected || this.over) {
      return Promise.reject(new GatewayNetworkError(`Not connected (${event})`));
    }
    // The typed socket's emit is keyed by event name; Calls is generic over the event.
    return this.calls.send(socket as unknown as Emitting, event, payload, timeoutMs);
  }

  /** Resolves once connected; rejects when the client fails or closes first, or after `timeoutMs`. */
  whenConnected(timeoutMs?: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.currentStatus === "failed") return Promise.reject(this.finalError);
    if (this.currentStatus === "disconnected") {
      return Promise.reject(new ClientClosedError("The client is closed"));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiters = this.waiters.filter((w) => w !== waiter);
              reject(new GatewayNetworkError(`Not connected within ${timeoutMs} ms`));
            }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Stops for good: no reconnects, pending calls rejected. Status `disconnected`. */
  close(): void {
    if (this.over) return;
    this.setStatus("disconnected", "closed");
    this.shutdown(new ClientClosedError("The client was closed"));
  }

  private onConnect(): void {
    this.failures = 0;
    this.refreshes = 0;
    this.notice = undefined;
    this.everConnected = true;
    this.backoff.reset();
    clearTimeout(this.reconnectTimer);
    this.setStatus("connected", undefined);
    this.heartbeat.start();
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.hooks.connected();
  }

  private onDisconnect(reason: string): void {
    this.heartbeat.stop();
    this.calls.rejectAll(new GatewayNetworkError(`Disconnected: ${reason}`));
    if (this.over) return;
    if (this.forcing) {
      this.setStatus("reconnecting", "heartbeat timeout");
      return;
    }
    const notice = this.notice === undefined ? undefined : fromAck(this.notice);
    this.notice = undefined;
    if (reason !== "io server disconnect") {
      // socket.io-client reconnects by itself; a stale token is refreshed at its connect_error.
      this.setStatus("reconnecting", notice?.code ?? reason);
      if (notice) this.hooks.error(notice);
      return;
    }
    if (notice && !notice.retryable && !this.canRecover(notice)) {
      this.fail(notice);
      return;
    }
    this.setStatus("reconnecting", notice?.code ?? reason);
    if (notice) this.hooks.error(notice);
    if (notice?.code === "AUTH_EXPIRED") void this.refreshAndReconnect();
    else this.scheduleReconnect();
  }

  private onConnectError(error: Error): void {
    if (this.over) return;
    this.failures++;
    const data = (error as { data?: { code?: unknown; message?: unknown } }).data;
    const refused =
      typeof data?.code === "string"
        ? fromAck({ code: data.code, message: String(data.message ?? error.message) })
        : undefined;
    if (refused && !refused.retryable && !this.canRecover(refused)) {
      this.fail(refused);
      return;
    }
    if (this.failures >= this.options.reconnection.maxAttempts) {
      this.fail(
        new GatewayNetworkError(`Gave up after ${this.failures} failed connection attempts`, {
          cause: refused ?? error,
        }),
      );
      return;
    }
    this.setStatus(
      this.everConnected ? "reconnecting" : "connecting",
      refused?.code ?? error.message,
    );
    this.hooks.error(refused ?? new GatewayNetworkError(error.message, { cause: error }));
    if (refused?.code === "AUTH_EXPIRED") {
      void this.refreshAndReconnect();
    } else if (!this.socket?.active) {
      // A refused handshake unsubscribes the socket from its Manager: nothing else retries it.
      this.scheduleReconnect();
    }
  }

  /** Records the notice; the disconnect that follows decides what to do about it. */
  private onNotice(notice: ServerNotice): void {
    this.notice = notice;
  }

  /** A non-retryable refusal that a new token cures. */
  private canRecover(error: GatewayError): boolean {
    return error.code === "AUTH_EXPIRED" && this.tokens.canRefresh;
  }

  /** AUTH_EXPIRED: a fresh token from getToken, then connect again. */
  private async refreshAndReconnect(): Promise<void> {
    // A getToken that keeps handing out expired tokens must not spin: back off after the first.
    if (this.refreshes++ > 0) await sleep(this.backoff.next(), this.abort.signal);
    while (!this.over) {
      try {
        this.hooks.token(await this.tokens.refresh());
        break;
      } catch (refreshError) {
        this.hooks.error(asClientError(refreshError, "getToken failed"));
        await sleep(this.backoff.next(), this.abort.signal);
      }
    }
    if (!this.over && !this.socket?.connected) this.socket?.connect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.over && !this.socket?.connected) this.socket?.connect();
    }, this.backoff.next());
  }

  /**
   * The socket says connected but pings go unanswered. Closing the engine is not enough (its
   * close may wait on a write that never drains), so the socket is disconnected, which drops
   * the Manager's engine, and connected again on a fresh one.
   */
  private replaceZombie(error: GatewayTimeoutError): void {
    const socket = this.socket;
    if (!socket || this.over) return;
    this.hooks.error(error);
    this.options.logger.warn("connection is a zombie; replacing it", {
      timeoutMs: error.timeoutMs,
    });
    this.forcing = true;
    try {
      socket.disconnect();
    } finally {
      this.forcing = false;
    }
    socket.connect();
  }

  private fail(error: ClientError): void {
    if (this.over) return;
    this.finalError = error;
    this.hooks.error(error);
    this.setStatus("failed", error.message);
    this.shutdown(error);
    this.hooks.failed(error);
  }

  private shutdown(error: unknown): void {
    this.abort.abort();
    this.heartbeat.stop();
    clearTimeout(this.reconnectTimer);
    this.socket?.disconnect();
    this.calls.rejectAll(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private setStatus(status: ClientStatus, reason: string | undefined): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.options.logger.info("status", { status, reason });
    this.hooks.status(status, reason);
  }
}
