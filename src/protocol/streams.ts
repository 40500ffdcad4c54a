/**
 * Token streams (PROTOCOL.md, "Streams"): a message written while it is being generated. The
 * client payloads as zod schemas, the server events as types, and the relay that carries a
 * stream's events between nodes. No Node imports: the SDK and the web UI import this file too.
 */
import { z } from "zod";
import {
  ContextId,
  Id,
  MessageType,
  PrincipalId,
  type PrincipalKind,
  StorableJsonObject,
  StorableText,
  Visibility,
} from "./schemas.js";

/** Who sees a stream: the whole session, or only sender and receiver (the messages' rule). */
export const StreamVisibility = Visibility;
export type StreamVisibility = Visibility;

/** `visibility: "direct"` names its receiver (the direct-message rule of messages). */
const DIRECT_NEEDS_RECEIVER = "visibility direct needs receiverId";
const directHasReceiver = (p: { visibility?: StreamVisibility | undefined; receiverId?: string }) =>
  p.visibility !== "direct" || p.receiverId !== undefined;

/** Fields of `stream:start` without `sessionId` (the HTTP route carries it in its path). */
const streamStartShape = {
  id: Id,
  type: MessageType.optional(),
  receiverId: PrincipalId.optional(),
  visibility: StreamVisibility.optional(),
  replyTo: Id.optional(),
  contextId: ContextId.optional(),
  metadata: StorableJsonObject.optional(),
};

export const StreamStartBody = z
  .strictObject(streamStartShape)
  .refine(directHasReceiver, { message: DIRECT_NEEDS_RECEIVER, path: ["receiverId"] });
export const StreamStartPayload = z
  .strictObject({ ...streamStartShape, sessionId: Id })
  .refine(directHasReceiver, { message: DIRECT_NEEDS_RECEIVER, path: ["receiverId"] });
export type StreamStartPayload = z.infer<typeof StreamStartPayload>;

/** A delta's position in its stream: 0, 1, 2 … */
const DeltaIndex = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** One piece of text; its size limit (STREAM_DELTA_MAX_BYTES) is checked by the server. */
const DeltaText = StorableText;

export const StreamDeltaPayload = z.strictObject({
  id: Id,
  sessionId: Id,
  index: DeltaIndex,
  delta: DeltaText,
});
export type StreamDeltaPayload = z.infer<typeof StreamDeltaPayload>;

/** One delta, as the HTTP route takes it (alone or in `deltas`). */
export const StreamDeltaItem = z.strictObject({ index: DeltaIndex, delta: DeltaText });
export type StreamDeltaItem = z.infer<typeof StreamDeltaItem>;

/** Most deltas in one HTTP call. */
export const MAX_DELTAS_PER_CALL = 500;

export const StreamDeltasBody = z.union([
  StreamDeltaItem,
  z.strictObject({ deltas: z.array(StreamDeltaItem).min(1).max(MAX_DELTAS_PER_CALL) }),
]);
export type StreamDeltasBody = z.infer<typeof StreamDeltasBody>;

/**
 * Fields of `stream:end` without `id` and `sessionId` (the HTTP route carries them in its path). `type`, `receiverId`, `visibility`, `replyTo` and
 * `contextId` are used only when no stream is open under `id` (the end then stores a message
 * like `message` would); for an open stream its start's values stand.
 */
const streamEndShape = {
  content: StorableText.optional(),
  metadata: StorableJsonObject.optional(),
  type: MessageType.optional(),
  receiverId: PrincipalId.optional(),
  visibility: StreamVisibility.optional(),
  replyTo: Id.optional(),
  contextId: ContextId.optional(),
};

export const StreamEndBody = z
  .strictObject(streamEndShape)
  .refine(directHasReceiver, { message: DIRECT_NEEDS_RECEIVER, path: ["receiverId"] });
export const StreamEndPayload = z
  .strictObject({ ...streamEndShape, id: Id, sessionId: Id })
  .refine(directHasReceiver, { message: DIRECT_NEEDS_RECEIVER, path: ["receiverId"] });
export type StreamEndPayload = z.infer<typeof StreamEndPayload>;

const AbortReason = StorableText.max(200);

export const StreamAbortBody = z.strictObject({ reason: AbortReason.optional() });
export const StreamAbortPayload = z.strictObject({
  id: Id,
  sessionId: Id,
  reason: AbortReason.optional(),
});
export type StreamAbortPayload = z.infer<typeof StreamAbortPayload>;

/** Server `stream:start`: a stream opened in the session. */
export type StreamStartEvent = {
  id: string;
  sessionId: string;
  senderId: string;
  senderKind: PrincipalKind;
  senderName: string;
  type: MessageType;
  receiverId?: string;
  visibility: StreamVisibility;
  replyTo?: string;
  contextId?: string;
  metadata?: Record<string, unknown>;
  startedAt: number;
};

/** Server `stream:delta`: the next piece of an open stream's text. */
export type StreamDeltaEvent = {
  id: string;
  sessionId: string;
  senderId: string;
  index: number;
  delta: string;
};

/** Server `stream:abort`: the stream ended without a message (`reason`: sender, idle, …). */
export type StreamAbortEvent = { id: string; sessionId: string; reason: string };

/** An open stream in the `join_session` ack, with its text so far. */
export type OpenStream = {
  id: string;
  senderId: string;
  senderKind: PrincipalKind;
  senderName: string;
  type: MessageType;
  receiverId?: string;
  visibility: StreamVisibility;
  startedAt: number;
  content: string;
  nextIndex: number;
};

/** Who may receive a stream's events: the session, or (direct) its sender and receiver. */
export type StreamAudience = {
  sessionId: string;
  senderId: string;
  visibility: StreamVisibility;
  receiverId?: string;
};

/**
 * A stream's event as it travels to every node (inside the fan-out batch). `start` names the
 * node that owns the stream (it runs its idle and disconnect aborts), null when a serverless
 * function opened it. A delta travels without its audience (each node takes the stream's own,
 * and the many deltas stay small); `to` is set once a node has matched it to its stream. `end` is
 * never sent to clients: the stored `message` is. `sync` (a node that missed relays: it started,
 * or its listener came back) asks every node for the streams it owns; each answers with one
 * `snapshot` per stream, its start and text so far, which only nodes that lack it take. Neither
 * is sent to clients: a node's sockets learn a snapshot's stream from their `join_session` ack.
 */
export type StreamRelay =
  | { kind: "start"; node: string | null; event: StreamStartEvent }
  | { kind: "delta"; event: StreamDeltaEvent; to?: StreamAudience }
  | { kind: "end"; id: string; sessionId: string; senderId: string }
  | { kind: "abort"; event: StreamAbortEvent; to: StreamAudience }
  | { kind: "sync"; node: string }
  | {
      kind: "snapshot";
      node: string;
      event: StreamStartEvent;
      content: string;
      nextIndex: number;
    };

export const StreamStartResult = z.object({
  id: z.string(),
  startedAt: z.number().int(),
  seq: z.number().int().positive().optional(),
  createdAt: z.number().int().optional(),
  duplicate: z.boolean().optional(),
});
export type StreamStartResult = z.infer<typeof StreamStartResult>;

export const StreamDeltaResult = z.object({ id: z.string(), index: z.number().int() });
export type StreamDeltaResult = z.infer<typeof StreamDeltaResult>;

export const StreamAbortResult = z.object({ id: z.string() });
export type StreamAbortResult = z.infer<typeof StreamAbortResult>;

/** The audience of a start event. */
export function audienceOf(event: StreamStartEvent): StreamAudience {
  const to: StreamAudience = {
    sessionId: event.sessionId,
    senderId: event.senderId,
    visibility: event.visibility,
  };
  if (event.receiverId !== undefined) to.receiverId = event.receiverId;
  return to;
}
