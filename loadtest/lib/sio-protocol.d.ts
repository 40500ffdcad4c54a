/**
 * Types for sio-protocol.js, which stays plain JavaScript so k6 can run it unchanged. Keep this
 * file in step with the .js; loadtest/sio-protocol.test.ts exercises both.
 */

export declare const EngineType: Readonly<{
  OPEN: "0";
  CLOSE: "1";
  PING: "2";
  PONG: "3";
  MESSAGE: "4";
  UPGRADE: "5";
  NOOP: "6";
}>;

export declare const PacketType: Readonly<{
  CONNECT: 0;
  DISCONNECT: 1;
  EVENT: 2;
  ACK: 3;
  CONNECT_ERROR: 4;
  BINARY_EVENT: 5;
  BINARY_ACK: 6;
}>;

export interface Packet {
  type: number;
  nsp: string;
  id?: number;
  data?: unknown;
}

export interface Handshake {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number | undefined;
}

export declare class ProtocolError extends Error {
  constructor(message: string, frame?: unknown);
  /** The first 200 characters of the offending frame. */
  frame: string | undefined;
}

export declare class AckError extends Error {
  constructor(code: "ACK_TIMEOUT" | "DISCONNECTED", message: string);
  code: "ACK_TIMEOUT" | "DISCONNECTED";
}

export declare function websocketUrl(
  baseUrl: string,
  options?: { path?: string; query?: Record<string, string | number> },
): string;
export declare function encodePacket(packet: Packet): string;
export declare function decodePacket(text: string): Packet;
export declare function parseOpenPacket(text: string): Handshake;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SioClientOptions {
  send(text: string): void;
  close?(): void;
  timers?: Timers;
  now?(): number;
  onError?(err: Error): void;
  onClose?(reason: string): void;
}

export interface ClientStats {
  framesIn: number;
  framesOut: number;
  pingsAnswered: number;
  protocolErrors: number;
  lateAcks: number;
  ackTimeouts: number;
}

export declare class SioClient {
  constructor(options: SioClientOptions);
  state: "opening" | "open" | "closed";
  handshake: Handshake | undefined;
  closeReason: string | undefined;
  stats: ClientStats;
  now(): number;
  socket(nsp?: string): SioSocket;
  onText(text: string): void;
  onTransportClose(reason?: string): void;
  close(): void;
}

/** An error given to `connect_error`; `data` is the server's `err.data`. */
export interface ConnectError extends Error {
  data?: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: event handlers take whatever the server sends.
type Handler = (...args: any[]) => void;

export declare class SioSocket {
  readonly client: SioClient;
  readonly nsp: string;
  state: "idle" | "connecting" | "connected" | "refused" | "disconnected";
  id: string | undefined;
  connectDuration: number | undefined;
  readonly connected: boolean;
  readonly pendingAcks: number;
  connect(auth?: unknown): this;
  disconnect(): this;
  on(event: "connect", handler: () => void): this;
  on(event: "connect_error", handler: (err: ConnectError) => void): this;
  on(event: "disconnect", handler: (reason: string) => void): this;
  on(event: string, handler: Handler): this;
  off(event: string, handler?: Handler): this;
  emit(event: string, ...args: unknown[]): this;
  request(
    event: string,
    payload: unknown,
    options: { timeoutMs?: number } | undefined,
    callback: (err: AckError | null, response?: unknown, rttMs?: number) => void,
  ): number;
  requestAsync(
    event: string,
    payload: unknown,
    options?: { timeoutMs?: number },
  ): Promise<{ response: unknown; rttMs: number }>;
}
