/**
 * The HTTP API for edge runtimes (Cloudflare Workers' workerd, Deno): the serverless app's parts
 * (`src/serverless/compose.ts`) with a console logger, no prom-client, and a pool lifetime that
 * fits the runtime.
 *
 * Workers forbid using a socket opened while serving one request from another request ("Cannot
 * perform I/O on behalf of a different request"), so a pool shared across requests breaks there.
 * With `poolPerRequest` every request gets its own pool (opened lazily: usually one connection),
 * its own messaging core and publisher, found through `AsyncLocalStorage` by the one Hono app
 * built per isolate; the pool closes once the request's publishes are done. Deno keeps one pool.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createPrincipalRegistry } from "../auth/principals.js";
import type { Env } from "../config.js";
import { type Database, READINESS_PROBE_MS } from "../db/client.js";
import type { Messaging } from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import {
  createApiApp,
  createPublishingMessaging,
  loadServerlessConfig,
  openServerlessDatabase,
  type Publishing,
  type ServerlessConfig,
  withTimeout,
} from "../serverless/compose.js";
import { createEdgeLogger } from "./logger.js";

export interface EdgeAppOptions {
  /** One pool per request (Workers) instead of one per isolate. Default false. */
  poolPerRequest?: boolean;
  /** Longest a request's publishes may run after the handler, in ms. Default 3,000. */
  publishTimeoutMs?: number;
  /** Default: JSON lines on `console` at `LOG_LEVEL`. */
  logger?: Logger;
}

/** Keeps background work alive after the response (Workers' `ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

export interface EdgeApp {
  /**
   * Answers one request. With `waitUntil` the response goes out at once and the request's
   * publishes (and its pool's closing) finish in the background; without it the response waits
   * for them (bounded by `publishTimeoutMs`).
   */
  fetch(request: Request, waitUntil?: WaitUntil): Promise<Response>;
  config: ServerlessConfig;
  /** Waits for pending publishes (bounded) and closes the shared pool, if any. */
  close(): Promise<void>;
}

interface Scope extends Publishing {
  database: Database;
}

/** Throws a `ConfigError` naming every bad or missing variable. */
export function createEdgeApp(env: Env, options: EdgeAppOptions = {}): EdgeApp {
  // os.hostname() and process.pid, the node's default id, mean nothing in an isolate.
  const config = loadServerlessConfig({ NODE_ID: "edge", ...env });
  const logger =
    options.logger ?? createEdgeLogger({ level: config.logLevel, nodeId: config.nodeId });
  const publishTimeoutMs = options.publishTimeoutMs ?? 3_000;

  const openScope = (): Scope => {
    const database = openServerlessDatabase(env, config, logger, "edge");
    return { database, ...createPublishingMessaging(database, config, logger) };
  };
  const settle = (scope: Scope) => withTimeout(scope.publisher.idle(), publishTimeoutMs);

  const requests = new AsyncLocalStorage<Scope>();
  const shared = options.poolPerRequest ? undefined : openScope();
  const current = (): Scope => {
    const scope = shared ?? requests.getStore();
    if (!scope) throw new Error("no request scope: call the edge app's fetch");
    return scope;
  };
  const messaging = new Proxy({} as Messaging, {
    get(_target, key) {
      const target = current().messaging;
      const value = target[key as keyof Messaging];
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const app = createApiApp({
    config,
    logger,
    messaging,
    // The registry's cache lives as long as the isolate; its queries use the request's pool.
    principals: createPrincipalRegistry({
      pool: { query: (...args: unknown[]) => current().database.pool.query(...(args as [string])) },
    }),
    probe: () => current().database.probe(READINESS_PROBE_MS),
  });

  return {
    config,
    async fetch(request, waitUntil) {
      if (shared) {
        const response = await app.fetch(request);
        if (waitUntil) waitUntil(settle(shared));
        else await settle(shared);
        return response;
      }
      const scope = openScope();
      try {
        return await requests.run(scope, () => app.fetch(request));
      } finally {
        const done = settle(scope).then(() => scope.database.close().catch(() => {}));
        if (waitUntil) waitUntil(done);
        else await done;
      }
    },
    async close() {
      if (!shared) return;
      await settle(shared);
      await shared.database.close().catch(() => {});
    },
  };
}
