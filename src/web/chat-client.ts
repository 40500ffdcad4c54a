/**
 * The slice of the gateway SDK the UI relies on. Hooks depend on this shape, not on the SDK
 * module, so they can run against a stub and the SDK can grow without touching them.
 * `create-chat-client.ts` adapts the SDK to it.
 */
import type { MessageType, StoredMessage } from "../protocol/index.js";

export type ConnectionStatus =
  | "connecting"
  | "connected"
  | "reconnecting"
  | "disconnected"
  | "failed";

export interface SendInput {
  /** Idempotency key; sending the same id again acks the stored `seq`. */
  id: string;
  sessionId: string;
  content: string;
  type: MessageType;
}

export interface ChatClientEvents {
  status: (status: ConnectionStatus, reason?: unknown) => void;
  message: (message: StoredMessage) => void;
  error: (error: unknown) => void;
}

export interface ChatClient {
  readonly status: ConnectionStatus;
  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof ChatClientEvents>(event: E, listener: ChatClientEvents[E]): () => void;
  joinSession(sessionId: string): Promise<void>;
  leaveSession(sessionId: string): Promise<void>;
  send(input: SendInput): Promise<{ id: string; seq: number; createdAt: number }>;
  close(): Promise<void>;
}
