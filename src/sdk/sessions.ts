/**
 * The sessions this client has joined, kept joined: each is joined again after every reconnect
 * with `lastSeq` (the join answers with what was missed; `sync` fetches the rest) and its
 * contexts are read again, because live `context:update` events sent while offline are lost.
 * Contexts are reported once per version: a `context` event fires when a version newer than the
 * last one seen arrives, live or from a refresh.
 */
import type { JoinSessionResult } from "../protocol/events.js";
import type { Context } from "../protocol/schemas.js";
import { Backoff, sleep } from "./backoff.js";
import type { Connection } from "./connection.js";
import { ClientClosedError, GatewayNetworkError, isRetryable } from "./errors.js";
import type { Receiver } from "./receiver.js";

export interface JoinResult {
  sessionId: string;
  /** The session's newest seq when it was joined. */
  headSeq: number;
}

export interface SessionsOptions {
  connection: Connection;
  receiver: Receiver;
  retry: { delayMs: number; maxDelayMs: number; jitter: number };
  onContext(context: Context): void;
  onError(error: unknown): void;
  /** Every successful join and rejoin, with the server's answer. */
  onJoined?(result: JoinSessionResult): void;
  /** The session is no longer followed. */
  onLeft?(sessionId: string): void;
}

interface Joined {
  sessionId: string;
  /** Settles with the first successful join. */
  first: { resolve(result: JoinResult): void; reject(error: unknown): void } | undefined;
  firstPromise: Promise<JoinResult>;
  /** Newest version seen per context id. */
  versions: Map<string, number>;
  /** A join is running on the current connection. */
  joining: boolean;
  backoff: Backoff;
}

export class Sessions {
  private readonly joined = new Map<string, Joined>();
  private readonly abort = new AbortController();

  constructor(private readonly options: SessionsOptions) {}

  ids(): string[] {
    return [...this.joined.keys()];
  }

  /**
   * Joins `sessionId` and keeps it joined. Without `lastSeq`, messages after the session's head
   * at join time are delivered; with it, every message after `lastSeq` (0: the whole history).
   */
  join(sessionId: string, lastSeq?: number): Promise<JoinResult> {
    const existing = this.joined.get(sessionId);
    if (existing) return existing.firstPromise;
    let first!: Joined["first"];
    const firstPromise = new Promise<JoinResult>((resolve, reject) => {
      first = { resolve, reject };
    });
    firstPromise.catch(() => {});
    const { delayMs, maxDelayMs, jitter } = this.options.retry;
    const state: Joined = {
      sessionId,
      first,
      firstPromise,
      versions: new Map(),
      joining: false,
      backoff: new Backoff({ minMs: delayMs, maxMs: maxDelayMs, jitter }),
    };
    this.joined.set(sessionId, state);
    this.options.receiver.track(sessionId, lastSeq);
    if (this.options.connection.connected) void this.joinNow(state);
    return firstPromise;
  }

  /** Stops delivery for `sessionId` and leaves its room. */
  async leave(sessionId: string): Promise<void> {
    const state = this.joined.get(sessionId);
    if (!state) return;
    this.joined.delete(sessionId);
    this.options.receiver.untrack(sessionId);
    this.options.onLeft?.(sessionId);
    state.first?.reject(new ClientClosedError(`Left session ${sessionId} before it was joined`));
    if (!this.options.connection.connected) return; // the room went with the connection
    try {
      await this.options.connection.request("leave_session", { sessionId });
    } catch (error) {
      if (!(error instanceof GatewayNetworkError)) throw error;
    }
  }

  /** After every (re)connect. */
  rejoinAll(): void {
    for (const state of this.joined.values()) {
      state.joining = false;
      void this.joinNow(state);
    }
  }

  /** A live `context:update`, or the echo of this client's own update. */
  context(update: Context): void {
    const state = this.joined.get(update.sessionId);
    if (state) this.report(state, update);
  }

  /** Rejects joins still waiting for their first success (close, or a final failure). */
  stop(error: unknown): void {
    this.abort.abort();
    for (const state of this.joined.values()) state.first?.reject(error);
    this.joined.clear();
  }

  private async joinNow(state: Joined): Promise<void> {
    const { connection, receiver } = this.options;
    if (state.joining) return;
    state.joining = true;
    const lastSeq = receiver.delivered(state.sessionId);
    let result: JoinSessionResult;
    try {
      result = await connection.request(
        "join_session",
        lastSeq === undefined
          ? { sessionId: state.sessionId }
          : { sessionId: state.sessionId, lastSeq },
      );
    } catch (error) {
      state.joining = false;
      return this.joinFailed(state, error);
    }
    if (this.joined.get(state.sessionId) !== state) return;
    state.backoff.reset();
    if (lastSeq === undefined) {
      receiver.setStart(state.sessionId, result.headSeq);
    } else {
      for (const message of result.messages ?? []) receiver.ingest(message);
      // What the join's page did not hold is fetched now, not after gapWaitMs.
      receiver.head(state.sessionId, result.headSeq, true);
    }
    this.options.onJoined?.(result);
    state.first?.resolve({ sessionId: state.sessionId, headSeq: result.headSeq });
    state.first = undefined;
    await this.refreshContexts(state);
  }

  private async joinFailed(state: Joined, error: unknown): Promise<void> {
    if (this.joined.get(state.sessionId) !== state) return;
    // Offline: the rejoin after the reconnect tries again.
    if (error instanceof GatewayNetworkError || error instanceof ClientClosedError) return;
    this.options.onError(error);
    if (isRetryable(error)) {
      await sleep(state.backoff.next(), this.abort.signal);
      if (this.joined.get(state.sessionId) === state && this.options.connection.connected) {
        void this.joinNow(state);
      }
      return;
    }
    // Not a member (any more), or no such session: retrying cannot help.
    this.joined.delete(state.sessionId);
    this.options.receiver.untrack(state.sessionId);
    this.options.onLeft?.(state.sessionId);
    state.first?.reject(error);
  }

  private async refreshContexts(state: Joined): Promise<void> {
    try {
      const { contexts } = await this.options.connection.request("context:get", {
        sessionId: state.sessionId,
      });
      if (this.joined.get(state.sessionId) !== state) return;
      for (const context of contexts) this.report(state, context);
    } catch (error) {
      if (!(error instanceof GatewayNetworkError)) this.options.onError(error);
    }
  }

  private report(state: Joined, context: Context): void {
    const known = state.versions.get(context.contextId) ?? 0;
    if (context.version <= known) return;
    state.versions.set(context.contextId, context.version);
    this.options.onContext(context);
  }
}
