/**
 * Limits per principal on this node (PROTOCOL.md sections 2 and 4): how many sockets one
 * principal may hold, and event and message buckets shared by all of them, so opening more
 * sockets buys no more throughput. A principal is its kind and id: an agent and a user with the
 * same `sub` are two principals.
 */
import type { ExtendedError } from "socket.io";
import type { Principal } from "../messaging/index.js";
import type { ClientEventName, ErrorCode } from "../protocol/index.js";
import { connectError } from "./auth.js";
import { type BucketLimit, TokenBucket } from "./rate-limit.js";
import type { GatewaySocket } from "./types.js";

export interface PrincipalLimitOptions {
  /** Most sockets one principal may hold on this node. */
  maxSockets: number;
  /** Events of every kind, across the principal's sockets. */
  events: BucketLimit;
  /** Writes (`message`, `context:update`), across the principal's sockets; also count as events. */
  messages: BucketLimit;
}

const WRITES = new Set<string>([
  "message",
  "context:update",
  "stream:end",
] satisfies ClientEventName[]);

interface Entry {
  key: string;
  sockets: number;
  events: TokenBucket;
  messages: TokenBucket;
}

/**
 * One socket's hold on its principal's place and buckets: two fields and shared methods, since
 * every socket holds one.
 */
export class PrincipalLease {
  private released = false;

  constructor(
    private readonly limits: PrincipalLimits,
    private readonly held: Entry,
  ) {}

  /** Takes a token for `event`; false when the principal is over its rate. */
  take(event: ClientEventName): boolean {
    const held = this.held;
    const write = WRITES.has(event);
    // Both checked before either is taken, so a refused message costs no event token.
    if (!held.events.ready() || (write && !held.messages.ready())) return false;
    held.events.take();
    if (write) held.messages.take();
    return true;
  }

  /** Seconds until `take(event)` could pass again (0 when it could now). */
  waitSeconds(event: ClientEventName): number {
    const events = this.held.events.waitSeconds();
    return WRITES.has(event) ? Math.max(events, this.held.messages.waitSeconds()) : events;
  }

  /** Gives the socket's place back; the last one out drops the buckets. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.limits.leave(this.held);
  }
}

export class PrincipalLimits {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: PrincipalLimitOptions) {}

  /** Principals with at least one socket here (buckets held). */
  get size(): number {
    return this.entries.size;
  }

  /** A lease for one more socket of `principal`, or undefined when it holds `maxSockets`. */
  acquire(principal: Principal): PrincipalLease | undefined {
    const key = `${principal.kind}:${principal.id}`;
    let entry = this.entries.get(key);
    if (entry && entry.sockets >= this.options.maxSockets) return undefined;
    if (!entry) {
      const { events, messages } = this.options;
      entry = {
        key,
        sockets: 0,
        events: new TokenBucket(events.ratePerSecond, events.burst),
        messages: new TokenBucket(messages.ratePerSecond, messages.burst),
      };
      this.entries.set(key, entry);
    }
    entry.sockets++;
    return new PrincipalLease(this, entry);
  }

  /** For `PrincipalLease.release`. */
  leave(entry: Entry): void {
    entry.sockets--;
    if (entry.sockets === 0) this.entries.delete(entry.key);
  }
}

/**
 * The handshake side: a middleware (after auth) that takes the socket's lease or refuses with
 * `RATE_LIMITED`, and the lease for the connection handler. A socket that passed the middleware
 * but never connected (its client went away meanwhile) gives its place back.
 */
export function createPrincipalGate(limits: PrincipalLimits, onRefused: (code: ErrorCode) => void) {
  return {
    middleware(socket: GatewaySocket, next: (err?: ExtendedError) => void): void {
      const lease = limits.acquire(socket.data.principal);
      if (!lease) {
        onRefused("RATE_LIMITED");
        next(connectError("RATE_LIMITED", "Too many sockets for this principal on this node"));
        return;
      }
      socket.data.lease = lease;
      next();
      // Socket.IO connects on the next tick, or drops the socket silently if the client left.
      setImmediate(() => {
        if (!socket.connected) lease.release();
      });
    },
    lease(socket: GatewaySocket): PrincipalLease {
      const lease = socket.data.lease;
      if (!lease) throw new Error("socket connected without passing the principal gate");
      return lease;
    },
  };
}
