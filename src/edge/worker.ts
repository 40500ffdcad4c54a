/**
 * The Cloudflare Workers entry (`export default { fetch }`), bundled by `src/edge/build.ts` and
 * run in workerd with `nodejs_compat` (pg reaches Postgres through `cloudflare:sockets`). The
 * bindings are the gateway's variables: `DATABASE_URL` and `AUTH_JWT_SECRET` (secrets), and
 * optionally `LOG_LEVEL`, `MAX_CONTENT_BYTES`, `CORS_ORIGINS`, `DATABASE_POOL_MAX`. With a
 * Hyperdrive binding named `HYPERDRIVE`, its connection string is the `DATABASE_URL`.
 */
import { ConfigError, type Env } from "../config.js";
import { misconfigured } from "../serverless/compose.js";
import { createEdgeApp, type EdgeApp } from "./app.js";

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The string bindings, and Hyperdrive's connection string as `DATABASE_URL` when bound. */
export function workerEnv(bindings: unknown): Env {
  const env: Env = {};
  if (!bindings || typeof bindings !== "object") return env;
  for (const [name, value] of Object.entries(bindings)) {
    if (typeof value === "string") env[name] = value;
  }
  const hyperdrive = (bindings as { HYPERDRIVE?: { connectionString?: unknown } }).HYPERDRIVE;
  if (typeof hyperdrive?.connectionString === "string") {
    env.DATABASE_URL = hyperdrive.connectionString;
  }
  return env;
}

// One app per isolate (the Hono app and its OpenAPI document are built once); each request still
// gets its own pool, see app.ts.
let shared: EdgeApp | undefined;

export default {
  async fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> {
    if (!shared) {
      try {
        shared = createEdgeApp(workerEnv(env), { poolPerRequest: true });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        return misconfigured();
      }
    }
    return shared.fetch(request, (promise) => ctx.waitUntil(promise));
  },
};
