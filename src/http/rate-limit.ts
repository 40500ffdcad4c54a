/**
 * HTTP rate limits (PROTOCOL.md section 8): every `/v1` call is counted against its client
 * address, and authenticated ones also against their principal. Every call takes a token from
 * the scope's call bucket, writes one from its write bucket as well. Past either: 429
 * `RATE_LIMITED` with `Retry-After` in whole seconds.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Metrics } from "../observability/metrics.js";
import { type BucketLimit, BucketMap, type TokenBucket } from "../realtime/rate-limit.js";
import { errorResponse } from "./errors.js";
import type { AppEnv } from "./routes.js";

export interface HttpRateLimitOptions {
  /** Calls and writes per principal (kind and id). */
  principal: { calls: BucketLimit; writes: BucketLimit };
  /** Calls and writes per client address. */
  address: { calls: BucketLimit; writes: BucketLimit };
  /**
   * `fly`: the client address is the `Fly-Client-IP` header, which Fly's proxy sets; only safe
   * behind it, as anyone else can send the header. `none` (default): the TCP peer's address.
   */
  trustProxy?: "none" | "fly";
  metrics?: Metrics;
}

export interface HttpRateLimiter {
  /** For `/v1/*` before anything else runs. */
  byAddress: MiddlewareHandler<AppEnv>;
  /** For `/v1/*` right after authentication has set the principal. */
  byPrincipal: MiddlewareHandler<AppEnv>;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

interface Scope {
  calls: BucketMap;
  writes: BucketMap;
}

function scope(limits: { calls: BucketLimit; writes: BucketLimit }): Scope {
  return { calls: new BucketMap(limits.calls), writes: new BucketMap(limits.writes) };
}

/** The TCP peer when the app runs on `@hono/node-server`; undefined elsewhere (serverless). */
function peerAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export function createHttpRateLimiter(options: HttpRateLimitOptions): HttpRateLimiter {
  const byPrincipal = scope(options.principal);
  const byAddress = scope(options.address);
  const fly = options.trustProxy === "fly";

  function admit(c: Context, limits: Scope, key: string): Response | undefined {
    const write = !READS.has(c.req.method);
    const calls = limits.calls.get(key);
    const writes = write ? limits.writes.get(key) : undefined;
    if (calls.ready() && (!writes || writes.ready())) {
      calls.take();
      writes?.take();
      return undefined;
    }
    const wait = Math.max(
      ...[calls, writes]
        .filter((b): b is TokenBucket => b !== undefined)
        .map((b) => b.waitSeconds()),
    );
    options.metrics?.errors.inc({ code: "RATE_LIMITED", surface: "http" });
    const res = errorResponse(c, "RATE_LIMITED", "Too many requests; retry after the given delay");
    res.headers.set("Retry-After", String(Math.max(1, Math.ceil(wait))));
    return res;
  }

  return {
    async byAddress(c, next) {
      const address = (fly ? c.req.header("fly-client-ip")?.trim() : undefined) || peerAddress(c);
      const refused = address === undefined ? undefined : admit(c, byAddress, address);
      if (refused) return refused;
      await next();
    },
    async byPrincipal(c, next) {
      const { kind, id } = c.get("principal");
      const refused = admit(c, byPrincipal, `${kind}:${id}`);
      if (refused) return refused;
      await next();
    },
  };
}
