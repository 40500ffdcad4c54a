/**
 * The Cloudflare Workers entry (`export default { fetch }`), bundled by `src/edge/build.ts` and
 * run in workerd with `nodejs_compat` (pg reaches Postgres through `cloudflare:sockets`). The
 * bindings are the gateway's variables: `DATABASE_URL` and `AUTH_JWT_SECRET` (secrets), and
 * optionally `LOG_LEVEL`, `MAX_CONTENT_BYTES`, `CORS_ORIGINS`, `DATABASE_POOL_MAX`.
 */
import { ConfigError } from "../config.js";
import { misconfigured, pickEnv } from "../serverless/compose.js";
import { createEdgeApp, type EdgeApp } from "./app.js";

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

// One app per isolate (the Hono app and its OpenAPI document are built once); each request still
// gets its own pool, see app.ts.
let shared: EdgeApp | undefined;

export default {
  async fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> {
    if (!shared) {
      try {
        shared = createEdgeApp(pickEnv(env), { poolPerRequest: true });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        return misconfigured();
      }
    }
    return shared.fetch(request, (promise) => ctx.waitUntil(promise));
  },
};
