/**
 * The wire contract as zod schemas (PROTOCOL.md sections 2–6 and 8). No Node imports: the SDK
 * and the web UI import this file too. Objects are strict so a typo never passes silently.
 */
import { z } from "zod";
import {
  findJsonProblem,
  isStorableText,
  MAX_INT4,
  MAX_JSON_DEPTH,
  UNSTORABLE_TEXT_MESSAGE,
} from "./json-rules.js";
import { MAX_PAGE_LIMIT } from "./limits.js";

/** 1–64 chars of `[A-Za-z0-9_-]`: message and session ids. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "must be 1-64 chars of [A-Za-z0-9_-]");

/** 1–64 chars of `[A-Za-z0-9._:-]`: principal ids (a token's `sub`). */
export const PrincipalId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, "must be 1-64 chars of [A-Za-z0-9._:-]");

/** Context ids share the principal charset so names like `plan:v1` work. */
export const ContextId = PrincipalId;

export const PrincipalKind = z.enum(["agent", "user"]);
export type PrincipalKind = z.infer<typeof PrincipalKind>;

export const MessageType = z.enum([
  "text",
  "markdown",
  "code",
  "command",
  "tool_call",
  "tool_result",
  "system",
  "error",
]);
export type MessageType = z.infer<typeof MessageType>;

const encoder = new TextEncoder();
export function utf8Bytes(value: string): number {
  return encoder.encode(value).length;
}

const JsonObject = z.record(z.string(), z.unknown());

/** Text a client sends to be stored: no NUL, no unpaired surrogates (PROTOCOL.md section 3). */
export const StorableText = z
  .string()
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE)
  .meta({ description: "No NUL (U+0000) and no unpaired surrogates" });

/**
 * A JSON object a client sends to be stored as `jsonb` (metadata, contextData): storable strings
 * and keys, and at most `MAX_JSON_DEPTH` levels deep (PROTOCOL.md section 3).
 */
export const StorableJsonObject = JsonObject.superRefine((value, ctx) => {
  const problem = findJsonProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
}).meta({
  description: `At most ${MAX_JSON_DEPTH} levels deep; no NUL or unpaired surrogates in keys or strings`,
});

/** A version number of an `integer` column: 0 to 2^31 - 1. */
const Version = z.number().int().nonnegative().max(MAX_INT4);

/** Fields of a message as a client sends it, without `sessionId` (the HTTP route carries it). */
export const messageBodyShape = {
  id: Id,
  content: StorableText,
  type: MessageType,
  senderId: PrincipalId.optional(),
  receiverId: PrincipalId.optional(),
  contextId: ContextId.optional(),
  replyTo: Id.optional(),
  timestamp: z.number().int().nonnegative().optional(),
  metadata: StorableJsonObject.optional(),
};

export const MessageBody = z.strictObject(messageBodyShape);
export type MessageBody = z.infer<typeof MessageBody>;

export const MessageInput = z.strictObject({ ...messageBodyShape, sessionId: Id });
export type MessageInput = z.infer<typeof MessageInput>;

/** A message as stored and broadcast. */
export const StoredMessage = z.object({
  id: z.string(),
  sessionId: z.string(),
  seq: z.number().int().positive(),
  senderId: z.string(),
  senderKind: PrincipalKind,
  content: z.string(),
  type: MessageType,
  receiverId: z.string().optional(),
  contextId: z.string().optional(),
  replyTo: z.string().optional(),
  metadata: JsonObject.optional(),
  timestamp: z.number().int(),
  createdAt: z.number().int(),
  status: z.literal("sent"),
});
export type StoredMessage = z.infer<typeof StoredMessage>;

export const JoinSessionPayload = z.strictObject({
  sessionId: Id,
  lastSeq: z.number().int().nonnegative().optional(),
});
export type JoinSessionPayload = z.infer<typeof JoinSessionPayload>;

export const LeaveSessionPayload = z.strictObject({ sessionId: Id });
export type LeaveSessionPayload = z.infer<typeof LeaveSessionPayload>;

/** A history position: after a seq (forwards) or before one (backwards), never both. */
export const ONE_DIRECTION_MESSAGE = "give afterSeq or beforeSeq, not both";
export const oneDirection = (p: {
  afterSeq?: number | undefined;
  beforeSeq?: number | undefined;
}) => p.afterSeq === undefined || p.beforeSeq === undefined;

export const SyncPayload = z
  .strictObject({
    sessionId: Id,
    afterSeq: z.number().int().nonnegative().optional(),
    beforeSeq: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(MAX_PAGE_LIMIT).optional(),
  })
  .refine(oneDirection, ONE_DIRECTION_MESSAGE);
export type SyncPayload = z.infer<typeof SyncPayload>;

export const ContextData = JsonObject;

export const ContextUpdatePayload = z.strictObject({
  sessionId: Id,
  contextId: ContextId,
  contextData: StorableJsonObject,
  expectedVersion: Version.optional(),
});
export type ContextUpdatePayload = z.infer<typeof ContextUpdatePayload>;

export const ContextGetPayload = z.strictObject({
  sessionId: Id,
  contextId: ContextId.optional(),
});
export type ContextGetPayload = z.infer<typeof ContextGetPayload>;

/** `typing`: the sender starts or stops typing in a session it has joined. */
export const TypingPayload = z.strictObject({
  sessionId: Id,
  state: z.enum(["start", "stop"]),
});
export type TypingPayload = z.infer<typeof TypingPayload>;

/** `typing` as relayed to a session's other sockets. */
export type TypingEvent = {
  sessionId: string;
  principalId: string;
  kind: PrincipalKind;
  name: string;
  state: "start" | "stop";
};

/** `presence`: a principal came online in a session (a socket of it joined, on any node) or went offline. */
export type PresenceEvent = {
  sessionId: string;
  principalId: string;
  kind: PrincipalKind;
  name: string;
  state: "online" | "offline";
  /** ms since epoch */
  at: number;
};

/** Who is online in a session now (`join_session` ack), online since `since` (ms). */
export type PresenceEntry = {
  principalId: string;
  kind: PrincipalKind;
  name: string;
  since: number;
};
/** A watermark value: a seq, 0 to 2^53 - 1. */
const Seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const ReceiptKind = z.enum(["delivered", "read"]);
export type ReceiptKind = z.infer<typeof ReceiptKind>;

/** `receipt`: the sender has been handed (`delivered`) or has shown (`read`) up to `seq`. */
export const ReceiptPayload = z.strictObject({ sessionId: Id, seq: Seq, kind: ReceiptKind });
export type ReceiptPayload = z.infer<typeof ReceiptPayload>;

/** `POST /v1/sessions/:id/receipts`: the socket event without `sessionId`. */
export const ReceiptRequest = z.strictObject({ seq: Seq, kind: ReceiptKind });

/** One member's watermarks: the highest seq it reported delivered and read (read ≤ delivered). */
export const MemberReceipt = z.object({
  principalId: z.string(),
  delivered: z.number().int().nonnegative(),
  read: z.number().int().nonnegative(),
});
export type MemberReceipt = z.infer<typeof MemberReceipt>;

/** The server `receipt` broadcast: a member's watermarks after they moved. */
export type ReceiptEvent = MemberReceipt & { sessionId: string };

/** The `receipt` ack and the HTTP route's answer: the caller's watermarks after the receipt. */
export const ReceiptResult = z.object({
  sessionId: z.string(),
  delivered: z.number().int().nonnegative(),
  read: z.number().int().nonnegative(),
});
export type ReceiptResult = z.infer<typeof ReceiptResult>;

/** A context as stored, returned by `context:get` and the HTTP API. */
export const Context = z.object({
  sessionId: z.string(),
  contextId: z.string(),
  contextData: ContextData,
  version: z.number().int().positive(),
  sourceAgentId: z.string(),
  updatedAt: z.number().int(),
});
export type Context = z.infer<typeof Context>;

/** The `context:update` broadcast (PROTOCOL.md section 5) has exactly the stored shape. */
export type ContextUpdateEvent = Context;

export const SessionHead = z.object({ sessionId: z.string(), seq: z.number().int().nonnegative() });
export type SessionHead = z.infer<typeof SessionHead>;

/** JWT claims (PROTOCOL.md section 2). */
export const TokenClaims = z.object({
  sub: PrincipalId,
  kind: PrincipalKind,
  name: z.string().max(128).optional(),
  exp: z.number().optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

// ---- HTTP bodies (PROTOCOL.md section 8) ----

export const DevTokenRequest = z.strictObject({
  sub: PrincipalId,
  kind: PrincipalKind,
  name: StorableText.max(128).optional(),
});

export const CreateSessionRequest = z.strictObject({
  id: Id.optional(),
  title: StorableText.max(200).optional(),
  members: z.array(PrincipalId).max(1000).optional(),
});

export const AddMemberRequest = z.strictObject({ principalId: PrincipalId });

export const PutContextRequest = z.strictObject({
  contextData: StorableJsonObject,
  expectedVersion: Version.optional(),
});

export const Session = z.object({
  id: z.string(),
  title: z.string().nullable(),
  members: z.array(z.string()),
  headSeq: z.number().int().nonnegative(),
  /** Every member's watermarks (`GET /v1/sessions/:id`; absent where a session is created). */
  receipts: z.array(MemberReceipt).optional(),
});
export type Session = z.infer<typeof Session>;

/** A member with its kind and display name: kind null and name = id when never seen with a token. */
export const MemberDetail = z.object({
  principalId: z.string(),
  kind: PrincipalKind.nullable(),
  name: z.string(),
});
export type MemberDetail = z.infer<typeof MemberDetail>;

/** A session as `GET /v1/sessions/:id`, `POST /v1/sessions` and `session:added` give it. */
export const SessionDetail = Session.extend({
  /** One per member, in the order of `members`. */
  memberDetails: z.array(MemberDetail),
});
export type SessionDetail = z.infer<typeof SessionDetail>;

/** A session in the caller's list: `Session` with the time of its newest message (ms). */
/**
 * A session in the caller's list: `Session` with the time of its newest message (ms), the
 * caller's read watermark and how many messages after it others sent that the caller may see.
 */
export const SessionSummary = Session.extend({
  lastMessageAt: z.number().int().nullable(),
  read: z.number().int().nonnegative(),
  unread: z.number().int().nonnegative(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;

export const SessionList = z.object({
  sessions: z.array(SessionSummary),
  /** Opaque; pass it back as `cursor` for the next page. Null on the last page. */
  nextCursor: z.string().nullable(),
});
export type SessionList = z.infer<typeof SessionList>;

export const DEFAULT_SESSION_LIST_LIMIT = 50;
export const MAX_SESSION_LIST_LIMIT = 100;

export const MessagePage = z.object({
  messages: z.array(StoredMessage),
  headSeq: z.number().int().nonnegative(),
  hasMore: z.boolean(),
});
export type MessagePage = z.infer<typeof MessagePage>;

export const AppendResult = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  createdAt: z.number().int(),
  duplicate: z.boolean(),
});
export type AppendResult = z.infer<typeof AppendResult>;

export const ContextWriteResult = z.object({
  contextId: z.string(),
  version: z.number().int().positive(),
  updatedAt: z.number().int(),
});
export type ContextWriteResult = z.infer<typeof ContextWriteResult>;

/**
 * Turns a zod error into one readable line naming each failing field, e.g.
 * `content: expected string, received number; foo: unrecognized key`.
 */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join(".") : "(payload)";
      if (issue.code === "unrecognized_keys") {
        return `${[...issue.keys].join(", ")}: unknown field`;
      }
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}
