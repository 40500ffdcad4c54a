/**
 * The OpenAPI 3.1 document, made from the route declarations the app registered (`api-route.ts`):
 * the same zod schemas validate the requests, so the document cannot drift from the routes.
 */
import { z } from "zod";
import { ERROR_CODES } from "../protocol/index.js";
import type { DocumentedRoute, ResponseSpec } from "./api-route.js";

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

export const ErrorBody = z.object({
  error: z.object({ code: z.enum(ERROR_CODES as [string, ...string[]]), message: z.string() }),
  requestId: z.string().nullable(),
});

/** Errors every /v1 route can answer besides its own: documented on each. */
const V1_ERRORS: Record<number, ResponseSpec> = {
  429: { description: "RATE_LIMITED: too many requests; retry after Retry-After seconds" },
  503: { description: "UNAVAILABLE: the database cannot be reached; nothing was stored" },
};

function responseDoc(spec: ResponseSpec, errorBody: boolean): Record<string, unknown> {
  const schema = spec.schema ?? (errorBody ? ErrorBody : undefined);
  if (!schema) return { description: spec.description };
  return {
    description: spec.description,
    content: { [spec.contentType ?? "application/json"]: { schema: json(schema) } },
  };
}

export function buildOpenApiDocument(routes: readonly DocumentedRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const v1 = route.fullPath.startsWith("/v1");
    const parameters: unknown[] = [];
    for (const [name, spec] of Object.entries(route.params ?? {})) {
      parameters.push({ name, in: "path", required: true, schema: json(spec.schema) });
    }
    if (route.query) {
      for (const [name, schema] of Object.entries(route.query.shape)) {
        parameters.push({ name, in: "query", required: false, schema: json(schema as z.ZodType) });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = responseDoc(spec, Number(status) >= 400);
    }
    if (v1) {
      if (route.body) {
        responses[413] ??= responseDoc({ description: "TOO_LARGE: the body is too large" }, true);
      }
      for (const [status, spec] of Object.entries(V1_ERRORS)) {
        responses[status] ??= responseDoc(spec, true);
      }
      responses.default = {
        description: "Error (400, 401, 403, 404, 409, 413, 429, 503, 500)",
        content: { "application/json": { schema: json(ErrorBody) } },
      };
    }
    const secured = route.auth ?? v1;
    const path = route.fullPath.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method] = {
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
