/**
 * `createHttpApp(deps)`: a plain Hono app. Inside a gateway node it shares the port with
 * Socket.IO; alone (serverless, edge) it serves the same API and publishes through the cluster.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { z } from "zod";
import type { TokenVerifier } from "../auth/tokens.js";
import {
  createStatelessStreams,
  DEFAULT_STREAM_LIMITS,
  isUnavailable,
  type Messaging,
  type Streams,
} from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics, SocketCounters } from "../observability/metrics.js";
import { GatewayError } from "../protocol/index.js";
import { defineRoute, RouteRegistry } from "./api-route.js";
import { errorResponse, noRoute } from "./errors.js";
import { buildOpenApiDocument, docsPage } from "./openapi.js";
import type { HttpRateLimiter } from "./rate-limit.js";
import { type AppEnv, createV1Routes } from "./routes.js";
import { contentSecurityPolicy, inlineScriptHashes, securityHeaders } from "./security-headers.js";

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface HttpAppDeps {
  messaging: Messaging;
  /**
   * The stream calls: a node's (its open streams in memory). Default: a function's, which keeps
   * nothing between calls, with the default limits.
   */
  streams?: Streams;
  tokens: TokenVerifier;
  logger: Logger;
  /** Serve `POST /v1/dev/token`. */
  devTokens: boolean;
  /** Largest request body in bytes. Default: 2 × content limit + 32 KiB for the envelope. */
  maxBodyBytes: number;
  /** HTTP history reads at once on this node (HTTP_HISTORY_CONCURRENCY). Default 8. */
  historyConcurrency?: number;
  /** `"*"` or a list of allowed origins. Default `"*"`. */
  corsOrigins?: string[] | "*";
  metrics?: Metrics;
  /**
   * Serve `/metrics` and `/metrics/socket` on this app. Default true; false where they have a
   * port of their own (METRICS_PORT) or must stay private (production).
   */
  serveMetrics?: boolean;
  /** Answers `/readyz`. Default: always ready. */
  readiness?: () => Promise<ReadinessReport>;
  /** This node's socket counters for `/metrics/socket`; absent where no Socket.IO server runs. */
  socketCounters?: () => SocketCounters;
  /** Rate limits per client address and per principal on `/v1`; absent: none. */
  rateLimiter?: HttpRateLimiter;
  /**
   * Extra routes mounted last, e.g. static files for `/docs` assets and the web UI, which need a
   * file system and so are added by the Node entry point only.
   */
  mount?: (app: Hono<AppEnv>) => void;
}

const SocketMetrics = z.object({
  total_connections: z.number(),
  active_connections: z.number(),
  peak_connections: z.number(),
  reconnections: z.number(),
  failed_connections: z.number(),
  messages_sent: z.number(),
  messages_received: z.number(),
  errors: z.object({
    auth_errors: z.number(),
    network_errors: z.number(),
    timeout_errors: z.number(),
    server_errors: z.number(),
  }),
});

const Readiness = z.object({
  status: z.enum(["ready", "not ready"]),
  ready: z.boolean(),
  checks: z.record(z.string(), z.boolean()),
});

export function createHttpApp(deps: HttpAppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const log = deps.logger.child({ module: "http" });
  const registry = new RouteRegistry();
  const add = (route: Parameters<RouteRegistry["register"]>[2]) =>
    registry.register(app, "", route);
  const docs = docsPage("/docs/assets");

  app.use("*", requestId());
  app.use("*", securityHeaders(contentSecurityPolicy(inlineScriptHashes(docs))));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath;
    const status = c.res.status;
    deps.metrics?.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    // One line per request: method, route pattern, status, timing and who; never bodies or tokens.
    log.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        principal: c.get("principal")?.id,
      },
      "request",
    );
  });
  app.use(
    "*",
    cors({ origin: deps.corsOrigins ?? "*", allowHeaders: ["Authorization", "Content-Type"] }),
  );
  if (deps.rateLimiter) app.use("/v1/*", deps.rateLimiter.byAddress);
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: (c) =>
        errorResponse(c, "TOO_LARGE", `The body is larger than ${deps.maxBodyBytes} bytes`),
    }),
  );

  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      deps.metrics?.errors.inc({ code: err.code, surface: "http" });
      return errorResponse(c, err.code, err.message);
    }
    if (isUnavailable(err)) {
      deps.metrics?.errors.inc({ code: "UNAVAILABLE", surface: "http" });
      return errorResponse(c, "UNAVAILABLE", "The database cannot be reached; nothing was stored");
    }
    deps.metrics?.errors.inc({ code: "INTERNAL", surface: "http" });
    log.error({ err, requestId: c.get("requestId") }, "unhandled error");
    return errorResponse(c, "INTERNAL", "Internal error");
  });
  app.notFound(noRoute);

  add(
    defineRoute({
      method: "get",
      path: "/healthz",
      summary: "200 while the process runs",
      responses: { 200: { description: "alive", schema: z.object({ status: z.literal("ok") }) } },
      handler: (c) => c.json({ status: "ok" }),
    }),
  );
  add(
    defineRoute({
      method: "get",
      path: "/readyz",
      summary: "200 when the database answers and the cluster listener is up",
      responses: {
        200: { description: "ready", schema: Readiness },
        503: { description: "not ready", schema: Readiness },
      },
      async handler(c) {
        const report = deps.readiness ? await deps.readiness() : { ready: true, checks: {} };
        return c.json(
          { status: report.ready ? "ready" : "not ready", ...report },
          report.ready ? 200 : 503,
        );
      },
    }),
  );
  if (deps.serveMetrics !== false) {
    add(
      defineRoute({
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics",
        responses: {
          200: { description: "text", schema: z.string(), contentType: "text/plain" },
          404: { description: "NOT_FOUND: metrics are off" },
        },
        async handler(c) {
          if (!deps.metrics) return errorResponse(c, "NOT_FOUND", "Metrics are off");
          const body = await deps.metrics.registry.metrics();
          return c.body(body, 200, { "content-type": deps.metrics.registry.contentType });
        },
      }),
    );
    add(
      defineRoute({
        method: "get",
        path: "/metrics/socket",
        summary: "This node's Socket.IO counters",
        responses: {
          200: { description: "counters", schema: SocketMetrics },
          404: { description: "NOT_FOUND: no Socket.IO server runs here" },
        },
        handler(c) {
          if (!deps.socketCounters)
            return errorResponse(c, "NOT_FOUND", "No Socket.IO server runs here");
          return c.json(deps.socketCounters());
        },
      }),
    );
  } else {
    // Not routes of this app (so not in its document): answered here rather than by the web UI's
    // fallback, which would serve index.html.
    const noMetrics = (c: Parameters<typeof errorResponse>[0]) =>
      errorResponse(c, "NOT_FOUND", "No metrics on this port");
    app.use("/metrics/*", async (c, next) =>
      c.req.method === "GET" || c.req.method === "HEAD" ? noMetrics(c) : next(),
    );
    app.use("/metrics", async (c, next) =>
      c.req.method === "GET" || c.req.method === "HEAD" ? noMetrics(c) : next(),
    );
  }
  add(
    defineRoute({
      method: "get",
      path: "/openapi.json",
      summary: "This document",
      responses: { 200: { description: "OpenAPI 3.1 document", schema: z.object({}).loose() } },
      handler: (c) => c.json(openapi),
    }),
  );
  add(
    defineRoute({
      method: "get",
      path: "/docs",
      summary: "This document rendered by Swagger UI",
      responses: {
        200: { description: "HTML page", schema: z.string(), contentType: "text/html" },
      },
      handler: (c) => c.html(docs),
    }),
  );

  const streams =
    deps.streams ??
    createStatelessStreams({ messaging: deps.messaging, limits: DEFAULT_STREAM_LIMITS });
  app.route("/v1", createV1Routes({ ...deps, streams }, registry));
  // Built after every route is registered, from the same declarations.
  const openapi = buildOpenApiDocument(registry.routes);
  deps.mount?.(app);
  return app;
}
