/**
 * Token streams (PROTOCOL.md "Streams"), for every surface: socket events and HTTP routes on a
 * node, and the HTTP routes of a serverless function. A stream writes to the database once, when
 * it ends, through the same append path as `message` (seq, idempotency and batching stay one
 * code path); its start and deltas are only relayed.
 *
 * On a node the registry holds every open stream the cluster told it of, and each call is
 * checked against it. A serverless function keeps nothing between calls: it checks membership,
 * relays, and leaves ordering and the sender check to the nodes (their registries drop what does
 * not fit), and its `end` needs `content`. An HTTP call on a node for a stream the node does not
 * know (yet: a load balancer may send the start to another node) is handled the serverless way;
 * a socket gets NOT_FOUND.
 */
import {
  type AppendResult,
  DEFAULT_MAX_CONTENT_BYTES,
  GatewayError,
  type MessageInput,
  type StreamAbortPayload,
  type StreamAbortResult,
  type StreamAudience,
  type StreamDeltaItem,
  type StreamDeltaResult,
  type StreamEndPayload,
  type StreamRelay,
  type StreamStartEvent,
  type StreamStartPayload,
  type StreamStartResult,
} from "../protocol/index.js";
import type { Messaging, Origin } from "./service.js";
import { byteLength, MAX_AHEAD, type OpenEntry, StreamRegistry } from "./stream-registry.js";
import type { Principal } from "./types.js";

export interface StreamLimits {
  /** STREAM_IDLE_MS: a stream without a delta for this long is aborted. Default 30,000. */
  idleMs: number;
  /** STREAM_MAX_OPEN_PER_PRINCIPAL: streams one principal may have open on a node. Default 16. */
  maxOpenPerPrincipal: number;
  /** STREAM_DELTA_MAX_BYTES: largest delta in UTF-8 bytes. Default 65,536. */
  deltaMaxBytes: number;
  /** STREAM_DELTA_RATE_LIMIT: delta events (or HTTP delta calls) per second per stream. Default 100. */
  deltasPerSecond: number;
  /** MAX_CONTENT_BYTES: a stream's whole text, like a message's content. */
  maxContentBytes: number;
}

export interface Streams {
  start(caller: Principal, input: StreamStartPayload, origin?: Origin): Promise<StreamStartResult>;
  /** One or more deltas, in the order given; the ack names the last index. */
  deltas(
    caller: Principal,
    sessionId: string,
    id: string,
    deltas: StreamDeltaItem[],
    origin?: Origin,
  ): Promise<StreamDeltaResult>;
  end(caller: Principal, input: StreamEndPayload, origin?: Origin): Promise<AppendResult>;
  abort(caller: Principal, input: StreamAbortPayload, origin?: Origin): Promise<StreamAbortResult>;
}

/** The streams of a node: the calls, plus what its sockets and its fan-out need. */
export interface NodeStreams extends Streams {
  /** The session's open streams with their text so far (the `join_session` ack). */
  open(sessionId: string): ReturnType<StreamRegistry["openIn"]>;
  /** A relay from any node (this one included): the events to emit here, in order. */
  accept(relay: StreamRelay): StreamRelay[];
  /** A stored message: a stream with its id is over. */
  messageStored(id: string, sessionId: string, senderId: string): void;
  /** The principal's last socket on this node is gone: its socket streams abort. */
  senderGone(principalId: string): void;
  /** A member was removed from the session: its streams there abort (on each node). */
  memberRemoved(sessionId: string, principalId: string): void;
  /** Where streams that expire without their owner are announced to this node's sockets. */
  setLocalEmitter(emit: (relay: StreamRelay) => void): void;
  /** Asks the other nodes for the streams they own (this node missed their relays). */
  resync(): void;
  /** Stops the timers (shutdown). */
  close(): void;
}

export interface StreamsDeps {
  messaging: Messaging;
  limits: StreamLimits;
}

/** The defaults of src/config.ts. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  idleMs: 30_000,
  maxOpenPerPrincipal: 16,
  deltaMaxBytes: DEFAULT_MAX_CONTENT_BYTES,
  deltasPerSecond: 100,
  maxContentBytes: DEFAULT_MAX_CONTENT_BYTES,
};

/** A configuration's stream limits (src/config.ts `STREAM_*` and `MAX_CONTENT_BYTES`). */
export function streamLimitsOf(config: {
  streamIdleMs: number;
  streamMaxOpenPerPrincipal: number;
  streamDeltaMaxBytes: number;
  streamDeltaRateLimit: number;
  maxContentBytes: number;
}): StreamLimits {
  return {
    idleMs: config.streamIdleMs,
    maxOpenPerPrincipal: config.streamMaxOpenPerPrincipal,
    deltaMaxBytes: config.streamDeltaMaxBytes,
    deltasPerSecond: config.streamDeltaRateLimit,
    maxContentBytes: config.maxContentBytes,
  };
}

/** The audience a function names before any node has checked it (nodes use the stream's own). */
const unchecked = (sessionId: string, senderId: string): StreamAudience => ({
  sessionId,
  senderId,
  visibility: "session",
});

function startEvent(caller: Principal, input: StreamStartPayload): StreamStartEvent {
  const event: StreamStartEvent = {
    id: input.id,
    sessionId: input.sessionId,
    senderId: caller.id,
    senderKind: caller.kind,
    senderName: caller.name ?? caller.id,
    type: input.type ?? "text",
    visibility: input.visibility ?? "session",
    startedAt: Date.now(),
  };
  if (input.receiverId !== undefined) event.receiverId = input.receiverId;
  if (input.replyTo !== undefined) event.replyTo = input.replyTo;
  if (input.contextId !== undefined) event.contextId = input.contextId;
  if (input.metadata !== undefined) event.metadata = input.metadata;
  return event;
}

/**
 * The final message of a stream (or of an end with no stream open). The merge point for direct
 * messages: `visibility` goes into the message here once `MessageInput` carries it.
 */
function finalMessage(
  fields: Pick<StreamStartEvent, "id" | "sessionId" | "type"> &
    Partial<
      Pick<StreamStartEvent, "receiverId" | "visibility" | "replyTo" | "contextId" | "metadata">
    >,
  content: string,
): MessageInput {
  const input: MessageInput = {
    id: fields.id,
    sessionId: fields.sessionId,
    type: fields.type,
    content,
  };
  if (fields.receiverId !== undefined) input.receiverId = fields.receiverId;
  if (fields.visibility !== undefined) input.visibility = fields.visibility;
  if (fields.replyTo !== undefined) input.replyTo = fields.replyTo;
  if (fields.contextId !== undefined) input.contextId = fields.contextId;
  if (fields.metadata !== undefined) input.metadata = fields.metadata;
  return input;
}

function checkDeltaSizes(deltas: StreamDeltaItem[], limits: StreamLimits, already: number) {
  let total = already;
  for (const { delta } of deltas) {
    const bytes = byteLength(delta);
    if (bytes > limits.deltaMaxBytes) {
      throw new GatewayError("TOO_LARGE", `delta is larger than ${limits.deltaMaxBytes} bytes`);
    }
    total += bytes;
  }
  if (total > limits.maxContentBytes) {
    throw new GatewayError(
      "TOO_LARGE",
      `the stream's text would be larger than ${limits.maxContentBytes} bytes`,
    );
  }
}

/**
 * The calls that need no memory: what a serverless function does, and what a node does over
 * HTTP for a stream it does not know.
 */
function statelessCalls(deps: StreamsDeps, where: "function" | "node") {
  const { messaging, limits } = deps;
  return {
    async deltas(
      caller: Principal,
      sessionId: string,
      id: string,
      deltas: StreamDeltaItem[],
    ): Promise<StreamDeltaResult> {
      checkDeltaSizes(deltas, limits, 0);
      await messaging.requireMember(caller, sessionId);
      messaging.publishStream(
        deltas.map(({ index, delta }) => ({
          kind: "delta",
          event: { id, sessionId, senderId: caller.id, index, delta },
        })),
      );
      return { id, index: deltas.at(-1)?.index ?? 0 };
    },
    async abort(caller: Principal, input: StreamAbortPayload): Promise<StreamAbortResult> {
      await messaging.requireMember(caller, input.sessionId);
      messaging.publishStream([
        {
          kind: "abort",
          event: { id: input.id, sessionId: input.sessionId, reason: input.reason ?? "sender" },
          to: unchecked(input.sessionId, caller.id),
        },
      ]);
      return { id: input.id };
    },
    /** An end with no stream open: stores `content` like `message`, or finds it stored. */
    async end(caller: Principal, input: StreamEndPayload, origin?: Origin): Promise<AppendResult> {
      if (input.content === undefined) {
        const stored = await messaging.storedAs(caller, input.sessionId, input.id);
        if (stored) return stored;
        if (where === "function") {
          throw new GatewayError(
            "INVALID_PAYLOAD",
            "content: required here (a serverless function keeps no stream text between calls)",
          );
        }
        throw new GatewayError(
          "NOT_FOUND",
          `No stream ${input.id} is open here; send content to store it`,
        );
      }
      const result = await messaging.sendMessage(
        caller,
        finalMessage({ ...input, type: input.type ?? "text" }, input.content),
        origin,
      );
      // Nodes that still hold the stream (opened by a function, or by a node that died) close it.
      messaging.publishStream([
        { kind: "end", id: input.id, sessionId: input.sessionId, senderId: caller.id },
      ]);
      return result;
    },
  };
}

/** Streams for a process that keeps nothing between calls (serverless and edge functions). */
export function createStatelessStreams(deps: StreamsDeps): Streams {
  const { messaging } = deps;
  const stateless = statelessCalls(deps, "function");
  return {
    async start(caller, input) {
      const stored = await messaging.checkStreamStart(caller, input);
      if (stored) return { ...stored, startedAt: stored.createdAt };
      const event = startEvent(caller, input);
      messaging.publishStream([{ kind: "start", node: null, event }]);
      return { id: event.id, startedAt: event.startedAt };
    },
    deltas: (caller, sessionId, id, deltas) => stateless.deltas(caller, sessionId, id, deltas),
    end: (caller, input, origin) => stateless.end(caller, input, origin),
    abort: (caller, input) => stateless.abort(caller, input),
  };
}

/** Streams for a gateway node: every open stream of the cluster in memory. */
export function createNodeStreams(deps: StreamsDeps & { nodeId: string }): NodeStreams {
  const { messaging, limits } = deps;
  const stateless = statelessCalls(deps, "node");
  let emitLocal: (relay: StreamRelay) => void = () => {};
  const registry = new StreamRegistry({
    nodeId: deps.nodeId,
    idleMs: limits.idleMs,
    deltasPerSecond: limits.deltasPerSecond,
    maxOpenPerPrincipal: limits.maxOpenPerPrincipal,
    publish: (relay) => messaging.publishStream([relay]),
    emitLocal: (relay) => emitLocal(relay),
  });

  const conflictIfOpen = (id: string) => {
    if (registry.get(id)) {
      throw new GatewayError("CONFLICT", `A stream with id ${id} is already open`);
    }
  };
  const checkOpenLimit = (caller: Principal) => {
    if (registry.ownedBy(caller.id) >= limits.maxOpenPerPrincipal) {
      throw new GatewayError(
        "RATE_LIMITED",
        `At most ${limits.maxOpenPerPrincipal} open streams per principal on a node; end one first`,
      );
    }
  };

  /** The open stream `id` of `sessionId` that `caller` may write to, or undefined. */
  const writable = (caller: Principal, sessionId: string, id: string): OpenEntry | undefined => {
    const entry = registry.get(id);
    if (!entry || entry.ending || !entry.announced) return undefined;
    if (entry.start.sessionId !== sessionId) return undefined;
    if (entry.start.senderId !== caller.id) {
      throw new GatewayError("FORBIDDEN", "Only the stream's sender may write to it");
    }
    return entry;
  };
  const notOpen = (id: string) =>
    new GatewayError("NOT_FOUND", `No stream ${id} is open (ended, aborted or never started)`);

  return {
    async start(caller, input, origin) {
      conflictIfOpen(input.id);
      checkOpenLimit(caller);
      const stored = await messaging.checkStreamStart(caller, input);
      if (stored) return { ...stored, startedAt: stored.createdAt };
      // Checked again: another start may have opened it while the database answered.
      conflictIfOpen(input.id);
      checkOpenLimit(caller);
      const event = startEvent(caller, input);
      registry.reserve(event, origin?.socketId !== undefined);
      messaging.publishStream([{ kind: "start", node: deps.nodeId, event }], origin);
      return { id: event.id, startedAt: event.startedAt };
    },

    async deltas(caller, sessionId, id, deltas, origin) {
      const entry = writable(caller, sessionId, id);
      if (!entry) {
        if (origin?.socketId !== undefined) throw notOpen(id);
        return stateless.deltas(caller, sessionId, id, deltas);
      }
      const next = entry.parts.length;
      const fresh = deltas.filter(({ index }) => index >= next && !entry.ahead.has(index));
      for (const { index } of fresh) {
        if (index - next >= MAX_AHEAD) {
          throw new GatewayError(
            "INVALID_PAYLOAD",
            `index: ${index} is too far ahead; the stream's next index is ${next}`,
          );
        }
      }
      checkDeltaSizes(fresh, limits, entry.bytes + entry.aheadBytes);
      if (!registry.takeDeltaToken(entry)) {
        throw new GatewayError(
          "RATE_LIMITED",
          `At most ${limits.deltasPerSecond} delta calls per second per stream`,
        );
      }
      // Deltas already held (a retry) are acked and relayed again to nobody.
      if (fresh.length > 0) {
        messaging.publishStream(
          fresh.map(({ index, delta }) => ({
            kind: "delta",
            event: { id, sessionId, senderId: caller.id, index, delta },
          })),
          origin,
        );
      }
      return { id, index: deltas.at(-1)?.index ?? next };
    },

    async end(caller, input, origin) {
      const entry = registry.get(input.id);
      if (entry && entry.start.sessionId !== input.sessionId) {
        throw new GatewayError("CONFLICT", `Stream ${input.id} is open in another session`);
      }
      const open = writable(caller, input.sessionId, input.id);
      if (!open) return stateless.end(caller, input, origin);
      const content = input.content ?? registry.text(open);
      const metadata = input.metadata ?? open.start.metadata;
      open.ending = true;
      let result: AppendResult;
      try {
        result = await messaging.sendMessage(
          caller,
          finalMessage({ ...open.start, ...(metadata ? { metadata } : {}) }, content),
          origin,
        );
      } catch (err) {
        // Nothing stored: the stream stays open, so the sender can fix the end or send it again.
        open.ending = false;
        throw err;
      }
      registry.forget(open);
      messaging.publishStream(
        [{ kind: "end", id: input.id, sessionId: input.sessionId, senderId: caller.id }],
        origin,
      );
      return result;
    },

    async abort(caller, input, origin) {
      const entry = writable(caller, input.sessionId, input.id);
      if (!entry) {
        if (origin?.socketId !== undefined) throw notOpen(input.id);
        return stateless.abort(caller, input);
      }
      messaging.publishStream(
        [
          {
            kind: "abort",
            event: { id: input.id, sessionId: input.sessionId, reason: input.reason ?? "sender" },
            to: entry.to,
          },
        ],
        origin,
      );
      registry.forget(entry);
      return { id: input.id };
    },

    open: (sessionId) => registry.openIn(sessionId),
    accept: (relay) => registry.accept(relay),
    messageStored: (id, sessionId, senderId) => registry.messageStored(id, sessionId, senderId),
    senderGone: (principalId) => registry.senderGone(principalId),
    memberRemoved: (sessionId, principalId) => registry.memberRemoved(sessionId, principalId),
    setLocalEmitter(emit) {
      emitLocal = emit;
    },
    resync: () => registry.sync(),
    close: () => registry.clear(),
  };
}
