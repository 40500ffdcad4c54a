/**
 * The TKR gateway client SDK, for browsers and Node 20 (ESM, no Node imports).
 *
 * Only types come from `protocol/schemas.ts` (zod stays out of the bundle); `GatewayError` and
 * the error codes come from `protocol/errors.ts`, which has no dependencies.
 */

export type { SyncResult } from "../protocol/events.js";
export type {
  Context,
  ContextUpdatePayload,
  ContextWriteResult,
  MemberReceipt,
  MessageInput,
  MessageType,
  ReceiptEvent,
  ReceiptKind,
  ReceiptResult,
  StoredMessage,
  TypingEvent,
} from "../protocol/schemas.js";
export {
  type Agent,
  type AgentOptions,
  connectAgent,
  type Reply,
  type ReplyInput,
} from "./agent.js";
export {
  type ClientEvents,
  createGatewayClient,
  type GatewayClient,
  type SendInput,
  type SendResult,
} from "./client.js";
export type { ClientStatus } from "./connection.js";
export {
  ClientClosedError,
  type ClientError,
  type ErrorCode,
  GatewayError,
  GatewayNetworkError,
  GatewayTimeoutError,
  isRetryable,
  OutboxFullError,
} from "./errors.js";
export { newMessageId } from "./ids.js";
export type {
  GatewayClientOptions,
  HeartbeatSettings,
  OutboxSettings,
  ReconnectionOptions,
  RetrySettings,
  SdkLogger,
} from "./options.js";
export type { JoinResult } from "./sessions.js";
export {
  type LocalStorageOutboxOptions,
  localStorageOutbox,
  memoryOutboxStorage,
  type OutboxEntry,
  type OutboxStorage,
  type WebStorageLike,
} from "./storage.js";
export type { TokenProvider } from "./token.js";
