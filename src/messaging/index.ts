export { isUnavailable } from "./db-errors.js";
export { checkMessageRules } from "./messages.js";
export type { ReceiptHint } from "./receipts.js";
export { createMessaging, type Messaging, type MessagingDeps, type Origin } from "./service.js";
export type { CreateSessionInput } from "./sessions.js";
export {
  createNodeStreams,
  createStatelessStreams,
  DEFAULT_STREAM_LIMITS,
  type NodeStreams,
  type StreamLimits,
  type Streams,
  streamLimitsOf,
} from "./streams.js";
export { noopPublisher, type Principal, type Publisher } from "./types.js";
