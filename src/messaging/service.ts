/**
 * The one path every surface goes through (HTTP routes, Socket.IO handlers, serverless): validate,
 * store, commit, then publish. No Hono or Socket.IO here; transports plug in a `Publisher`.
 */
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import {
  type AppendResult,
  type Context,
  type ContextUpdatePayload,
  type ContextWriteResult,
  DEFAULT_PAGE_LIMIT,
  type MemberReceipt,
  type MessageInput,
  type ReceiptEvent,
  type ReceiptPayload,
  type ReceiptResult,
  type SessionDetail,
  type SessionList,
  type StreamRelay,
  type StreamStartPayload,
} from "../protocol/index.js";
import { createAppendBatcher } from "./append-batcher.js";
import { getContexts, updateContext } from "./contexts.js";
import {
  checkMessageRules,
  type MessagePageResult,
  readMessages,
  readMessagesBefore,
  storedAs,
} from "./messages.js";
import { createReceiptLedger, type ReceiptHint } from "./receipts.js";
import { listSessions } from "./session-list.js";
import {
  addMember,
  type CreateSessionInput,
  createSession,
  getSession,
  memberEvent,
  removeMember,
  requireMember,
  type SessionAccess,
} from "./sessions.js";
import { checkStreamStart } from "./stream-checks.js";
import { noopPublisher, type Principal, type Publisher } from "./types.js";

export interface MessagingDeps {
  /** drizzle over the pool; the statements written in SQL use its pool (`db.$client`). */
  db: Db;
  /** Largest `content` in UTF-8 bytes. */
  maxContentBytes: number;
  /** Byte budget of one history page (HISTORY_PAGE_MAX_BYTES). Default 1 MiB. */
  historyPageMaxBytes?: number;
  /** Where committed changes are announced. Default: nowhere. */
  publisher?: Publisher;
  logger?: Logger;
  /** Observes each append's database time, in seconds (for the latency histogram). */
  onAppend?: (seconds: number) => void;
  /**
   * Receipt watermarks: `coalesce` (a node: written at most once per member per `flushMs`,
   * default 1,000) or `direct` (serverless: each move written at once). Default `direct`.
   */
  receipts?: {
    mode?: "coalesce" | "direct";
    flushMs?: number;
    /** Called once per receipt write statement with its rows (metrics). */
    onWrite?: (rows: number) => void;
  };
  /**
   * The display name a live message carries for its sender, from the node's principal cache (no
   * query per message). Default: the caller's own (`name`, else its id).
   */
  nameOf?: (principal: Principal) => string;
}

/** Where the call came from, so a broadcast can skip the sending socket. */
export interface Origin {
  socketId?: string;
}

export interface Messaging {
  createSession(caller: Principal, input: CreateSessionInput): Promise<SessionDetail>;
  getSession(caller: Principal, sessionId: string): Promise<SessionDetail>;
  /** The caller's sessions, most recent activity first; `cursor` from the previous page. */
  listSessions(caller: Principal, limit: number, cursor?: string): Promise<SessionList>;
  addMember(caller: Principal, sessionId: string, principalId: string): Promise<void>;
  removeMember(caller: Principal, sessionId: string, principalId: string): Promise<void>;
  requireMember(caller: Principal, sessionId: string): Promise<SessionAccess>;
  sendMessage(caller: Principal, input: MessageInput, origin?: Origin): Promise<AppendResult>;
  readMessages(
    caller: Principal,
    sessionId: string,
    afterSeq: number,
    limit?: number,
  ): Promise<MessagePageResult>;
  /** The page just before `beforeSeq`, oldest first; `hasMore` says older ones exist. */
  readMessagesBefore(
    caller: Principal,
    sessionId: string,
    beforeSeq: number,
    limit?: number,
  ): Promise<MessagePageResult>;
  updateContext(
    caller: Principal,
    input: ContextUpdatePayload,
    origin?: Origin,
  ): Promise<ContextWriteResult>;
  getContexts(caller: Principal, sessionId: string, contextId?: string): Promise<Context[]>;
  /** A `receipt`: raises the caller's watermark (membership and head checked; hint: see type). */
  receipt(caller: Principal, input: ReceiptPayload, hint?: ReceiptHint): Promise<ReceiptResult>;
  /** Every member's watermarks, this node's unflushed ones merged; membership checked by the caller. */
  sessionReceipts(sessionId: string): Promise<MemberReceipt[]>;
  /** A `receipt` broadcast from another node, so this node's answers include it. */
  observeReceipt(event: ReceiptEvent): void;
  /** Writes unflushed receipt watermarks now (tests; shutdown uses `close`). */
  flushReceipts(): Promise<void>;
  /** Flushes what is buffered (receipts); the pool stays open. */
  close(): Promise<void>;
  /**
   * Membership (and a direct stream's receiver) for a stream about to open; the stored
   * message's ack when its id is already the caller's message in the session (streams.ts).
   */
  checkStreamStart(caller: Principal, input: StreamStartPayload): Promise<AppendResult | undefined>;
  /** The ack of the caller's stored message `id` (duplicate), or undefined; CONFLICT if not theirs. */
  storedAs(caller: Principal, sessionId: string, id: string): Promise<AppendResult | undefined>;
  /** Relays a stream's events, in order (nothing stored), best effort like every publish. */
  publishStream(relays: StreamRelay[], origin?: Origin): void;
  /** Replaces the publisher (the realtime server plugs itself in after it starts). */
  setPublisher(publisher: Publisher): void;
}

export function createMessaging(deps: MessagingDeps): Messaging {
  const { db } = deps;
  const pool = db.$client;
  let publisher = deps.publisher ?? noopPublisher;
  const batcher = createAppendBatcher(pool);
  const log = deps.logger;

  // Publishing is best effort: the row is committed and acknowledged whatever happens here, and
  // clients close gaps from the table.
  const publish = (what: string, run: () => void | Promise<void>) => {
    try {
      const pending = run();
      if (pending) pending.catch((err: unknown) => log?.warn({ err, what }, "publish failed"));
    } catch (err) {
      log?.warn({ err, what }, "publish failed");
    }
  };

  const receipts = createReceiptLedger({
    pool,
    mode: deps.receipts?.mode ?? "direct",
    ...(deps.receipts?.flushMs ? { flushMs: deps.receipts.flushMs } : {}),
    ...(deps.receipts?.onWrite ? { onWrite: deps.receipts.onWrite } : {}),
    publish: (event) => publish("receipt", () => publisher.receipt?.(event)),
    onFlushError: (err) => log?.warn({ err }, "receipt flush failed; retried on the next"),
  });

  return {
    async createSession(caller, input) {
      const session = await createSession(db, caller, input);
      // Those it invites are added like any later member: each hears of it (session:added),
      // so a list or an agent follows it without polling. The creator has the answer.
      for (const principalId of session.members) {
        if (principalId === caller.id) continue;
        publish("memberAdded", async () => {
          const member = await memberEvent(db, session.id, principalId);
          await publisher.membership?.({ change: "added", member, session });
        });
      }
      return session;
    },
    async getSession(caller, sessionId) {
      const session = await getSession(db, caller, sessionId);
      return { ...session, receipts: await receipts.session(sessionId) };
    },
    listSessions: (caller, limit, cursor) =>
      listSessions(pool, caller, limit, cursor, receipts.unflushedReads(caller.id)),
    async addMember(caller, sessionId, principalId) {
      if (!(await addMember(db, caller, sessionId, principalId))) return;
      // Read after the commit, so the event carries the session as it now is; best effort
      // like every publish: the member is added whatever happens here.
      publish("memberAdded", async () => {
        const [session, member] = await Promise.all([
          getSession(db, caller, sessionId),
          memberEvent(db, sessionId, principalId),
        ]);
        await publisher.membership?.({ change: "added", member, session });
      });
    },
    async removeMember(caller, sessionId, principalId) {
      await removeMember(db, caller, sessionId, principalId);
      publish("memberRemoved", async () => {
        await publisher.memberRemoved(sessionId, principalId);
        const member = await memberEvent(db, sessionId, principalId);
        await publisher.membership?.({ change: "removed", member });
      });
    },
    requireMember: (caller, sessionId) => requireMember(pool, sessionId, caller.id),
    async sendMessage(caller, input, origin) {
      checkMessageRules(caller, input, deps.maxContentBytes);
      const started = performance.now();
      const sender = deps.nameOf ? { ...caller, name: deps.nameOf(caller) } : caller;
      const { result, message } = await batcher.append(sender, input);
      deps.onAppend?.((performance.now() - started) / 1000);
      if (message) publish("message", () => publisher.message(message, origin?.socketId));
      return result;
    },
    readMessages: (caller, sessionId, afterSeq, limit = DEFAULT_PAGE_LIMIT) =>
      readMessages(pool, caller, sessionId, afterSeq, limit, deps.historyPageMaxBytes),
    readMessagesBefore: (caller, sessionId, beforeSeq, limit = DEFAULT_PAGE_LIMIT) =>
      readMessagesBefore(pool, caller, sessionId, beforeSeq, limit, deps.historyPageMaxBytes),
    async updateContext(caller, input, origin) {
      const context = await updateContext(pool, caller, input);
      publish("context", () => publisher.context(context, origin?.socketId));
      return {
        contextId: context.contextId,
        version: context.version,
        updatedAt: context.updatedAt,
      };
    },
    getContexts: (caller, sessionId, contextId) => getContexts(pool, caller, sessionId, contextId),
    receipt: (caller, input, hint) => receipts.record(caller, input, hint),
    sessionReceipts: (sessionId) => receipts.session(sessionId),
    observeReceipt: (event) => receipts.observe(event),
    flushReceipts: () => receipts.flush(),
    close: () => receipts.close(),
    checkStreamStart: (caller, input) => checkStreamStart(pool, caller, input),
    storedAs: (caller, sessionId, id) => storedAs(pool, caller, sessionId, id),
    publishStream(relays, origin) {
      publish("stream", () => publisher.stream?.(relays, origin?.socketId));
    },
    setPublisher(next) {
      publisher = next;
    },
  };
}
