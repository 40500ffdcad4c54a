/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with.
 */
import { z } from "zod";
import {
  AddMemberRequest,
  AppendResult,
  Context,
  ContextWriteResult,
  CreateSessionRequest,
  DevTokenRequest,
  ERROR_CODES,
  MessageBody,
  MessagePage,
  PutContextRequest,
  Session,
} from "../protocol/index.js";
import { MessagesQuery } from "./routes.js";

interface RouteDoc {
  method: "get" | "post" | "put" | "delete";
  path: string;
  summary: string;
  auth?: boolean;
  body?: z.ZodType;
  query?: z.ZodObject;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const ErrorBody = z.object({
  error: z.object({ code: z.enum(ERROR_CODES as [string, ...string[]]), message: z.string() }),
  requestId: z.string().nullable(),
});

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

const ROUTES: RouteDoc[] = [
  {
    method: "get",
    path: "/healthz",
    summary: "200 while the process runs",
    responses: { 200: { description: "alive" } },
  },
  {
    method: "get",
    path: "/readyz",
    summary: "200 when the database answers and the cluster listener is up",
    responses: { 200: { description: "ready" }, 503: { description: "not ready" } },
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    responses: { 200: { description: "text" } },
  },
  {
    method: "get",
    path: "/metrics/socket",
    summary: "This node's Socket.IO counters",
    responses: { 200: { description: "counters", schema: SocketMetrics } },
  },
  {
    method: "post",
    path: "/v1/dev/token",
    summary: "Issue a dev token (only when AUTH_DEV_TOKENS=true; 404 otherwise)",
    auth: false,
    body: DevTokenRequest,
    responses: { 200: { description: "token", schema: z.object({ token: z.string() }) } },
  },
  {
    method: "post",
    path: "/v1/sessions",
    summary: "Create a session; the caller becomes a member",
    body: CreateSessionRequest,
    responses: { 201: { description: "created", schema: Session } },
  },
  {
    method: "get",
    path: "/v1/sessions/{id}",
    summary: "A session with its members and head seq",
    responses: { 200: { description: "session", schema: Session } },
  },
  {
    method: "post",
    path: "/v1/sessions/{id}/members",
    summary: "Add a member",
    body: AddMemberRequest,
    responses: { 201: { description: "added" } },
  },
  {
    method: "delete",
    path: "/v1/sessions/{id}/members/{principalId}",
    summary: "Remove a member; their sockets leave the room on every node",
    responses: { 204: { description: "removed" } },
  },
  {
    method: "get",
    path: "/v1/sessions/{id}/messages",
    summary: "Messages with seq > afterSeq, oldest first",
    query: MessagesQuery,
    responses: { 200: { description: "page", schema: MessagePage } },
  },
  {
    method: "post",
    path: "/v1/sessions/{id}/messages",
    summary: "Store and broadcast a message (idempotent by id)",
    body: MessageBody,
    responses: {
      201: { description: "stored", schema: AppendResult },
      200: { description: "duplicate of an earlier send", schema: AppendResult },
    },
  },
  {
    method: "get",
    path: "/v1/sessions/{id}/contexts",
    summary: "Every context of the session",
    responses: {
      200: { description: "contexts", schema: z.object({ contexts: z.array(Context) }) },
    },
  },
  {
    method: "get",
    path: "/v1/sessions/{id}/contexts/{contextId}",
    summary: "One context",
    responses: { 200: { description: "context", schema: Context } },
  },
  {
    method: "put",
    path: "/v1/sessions/{id}/contexts/{contextId}",
    summary: "Create or update a context, optionally only at expectedVersion",
    body: PutContextRequest,
    responses: { 200: { description: "written", schema: ContextWriteResult } },
  },
];

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const parameters: unknown[] = [];
    for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
      parameters.push({
        name: name.slice(1, -1),
        in: "path",
        required: true,
        schema: { type: "string" },
      });
    }
    if (route.query) {
      for (const [name, schema] of Object.entries(route.query.shape)) {
        parameters.push({ name, in: "query", required: false, schema: json(schema as z.ZodType) });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { "application/json": { schema: json(response.schema) } } }
          : {}),
      };
    }
    const secured = route.path.startsWith("/v1") && route.auth !== false;
    if (route.path.startsWith("/v1")) {
      responses.default = {
        description: "Error (400, 401, 403, 404, 409, 413, 429, 503, 500)",
        content: { "application/json": { schema: json(ErrorBody) } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method] = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: json(route.body) } },
            },
          }
        : {}),
      responses,
      ...(secured ? { security: [{ bearer: [] }] } : {}),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "TKR gateway",
      version: "1",
      description:
        "HTTP API of the TKR gateway. Realtime events (Socket.IO namespaces /agents and /clients) are described in PROTOCOL.md.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
    paths,
  };
}

/** A page that renders the document with Swagger UI, served from our own origin (no CDN). */
export function docsPage(assetsBase: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TKR gateway API</title>
<link rel="stylesheet" href="${assetsBase}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="${assetsBase}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });</script>
</body></html>`;
}
