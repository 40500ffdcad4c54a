/**
 * `connectAgent`: an AI agent in a few lines. Connects to `/agents`, joins its sessions, and
 * hands every message not sent by the agent itself to `onMessage`, one at a time per session
 * (in `seq` order, each once), with a `reply` that answers in the same session. Replies go
 * through the client's outbox, so they survive disconnects like any send.
 */
import type { StoredMessage } from "../protocol/schemas.js";
import {
  createGatewayClient,
  type GatewayClient,
  type SendInput,
  type SendResult,
} from "./client.js";
import type { GatewayClientOptions } from "./options.js";
import type { OutgoingStream, StreamOptions } from "./outgoing-streams.js";

/** Text (sent as `type: "text"`), or a message without `sessionId`. */
export type ReplyInput = string | Omit<SendInput, "sessionId">;

/**
 * Sends into the session of the message being handled. Defaults: `type: "text"`, `replyTo` the
 * handled message's id, `receiverId` its sender. `reply.stream()` opens a stream with the same
 * defaults (`client.stream()`), for an answer written token by token.
 */
export type Reply = ((reply: ReplyInput) => Promise<SendResult>) & {
  stream(options?: StreamOptions): OutgoingStream;
};

export interface AgentOptions extends Omit<GatewayClientOptions, "namespace"> {
  /** A session to join. Give this, `sessionIds`, or both. */
  sessionId?: string;
  /** Sessions to join. */
  sessionIds?: string[];
  /**
   * The agent's principal id: its own messages are not handed to `onMessage`. Default: the
   * token's `sub`.
   */
  agentId?: string;
  /**
   * Where delivery starts in each session: messages after this seq (0: the whole history).
   * Default: the session's head at join time, so only new messages are handled.
   */
  lastSeq?: number;
  /**
   * Join each session the agent is added to while connected (`session:added`), handling the
   * messages after the session's head at the time of the add (or after `lastSeq`). Default true.
   */
  joinAdded?: boolean;
  /** Handles one message; the next message of the same session waits for it to settle. */
  onMessage: (message: StoredMessage, reply: Reply) => unknown;
  /**
   * Called when `onMessage` throws or rejects; the agent carries on with the next message.
   * Default: the logger's `error`.
   */
  onHandlerError?: (error: unknown, message: StoredMessage) => void;
}

export interface Agent {
  client: GatewayClient;
  /** Joins one more session. */
  join(sessionId: string): Promise<void>;
  /** Resolves when every message received so far has been handled. */
  idle(): Promise<void>;
  /** Waits for running handlers (their replies are queued), then closes the client. */
  close(): Promise<void>;
}

/** Connects, joins, and resolves once every session is joined; rejects (and closes) if not. */
export async function connectAgent(options: AgentOptions): Promise<Agent> {
  const { sessionId, sessionIds, agentId, lastSeq, joinAdded, onMessage, onHandlerError, ...rest } =
    options;
  const client = createGatewayClient({ ...rest, namespace: "/agents" });
  const chains = new Map<string, Promise<void>>();
  const reportHandlerError =
    onHandlerError ??
    ((error: unknown, message: StoredMessage) =>
      options.logger?.error?.("agent handler failed", {
        sessionId: message.sessionId,
        seq: message.seq,
        error: String(error),
      }));

  client.on("message", (message) => {
    if (message.senderId === (agentId ?? client.principalId)) return;
    const send = (input: ReplyInput) => {
      const fields = typeof input === "string" ? { content: input } : input;
      return client.send({
        type: "text",
        replyTo: message.id,
        receiverId: message.senderId,
        ...fields,
        sessionId: message.sessionId,
      } as SendInput);
    };
    const reply: Reply = Object.assign(send, {
      stream: (streamOptions?: StreamOptions) =>
        client.stream(message.sessionId, {
          replyTo: message.id,
          receiverId: message.senderId,
          ...streamOptions,
        }),
    });
    const previous = chains.get(message.sessionId) ?? Promise.resolve();
    chains.set(
      message.sessionId,
      previous.then(async () => {
        try {
          await onMessage(message, reply);
        } catch (error) {
          reportHandlerError(error, message);
        }
      }),
    );
  });

  const join = async (id: string) => {
    await client.joinSession(id, lastSeq === undefined ? undefined : { lastSeq });
  };

  if (joinAdded !== false) {
    client.on("sessionAdded", ({ session }) => {
      // From the head the event names (not `lastSeq`, which belongs to the configured sessions):
      // nothing sent after the add is missed, however long the join takes.
      const from = session.headSeq;
      client.joinSession(session.id, { lastSeq: from }).catch((error: unknown) =>
        options.logger?.error?.("agent could not join an added session", {
          sessionId: session.id,
          error: String(error),
        }),
      );
    });
  }

  const idle = async () => {
    // Handlers may be queued while we wait; loop until nothing new was chained.
    for (;;) {
      const pending = [...chains.values()];
      await Promise.all(pending);
      if ([...chains.values()].every((p, i) => p === pending[i])) return;
    }
  };

  try {
    const ids = [...(sessionId === undefined ? [] : [sessionId]), ...(sessionIds ?? [])];
    await Promise.all(ids.map(join));
    // With no session to join, "ready" means connected: before that, a `session:added` would
    // find no socket to reach.
    if (ids.length === 0) await connected(client);
  } catch (error) {
    await client.close();
    throw error;
  }

  return {
    client,
    join,
    idle,
    async close() {
      await idle();
      await client.close();
    },
  };
}

function connected(client: GatewayClient): Promise<void> {
  if (client.status === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = client.on("status", (status, reason) => {
      if (status === "connected") {
        off();
        resolve();
      } else if (status === "failed" || status === "disconnected") {
        off();
        reject(new Error(`agent could not connect: ${reason ?? status}`));
      }
    });
  });
}
