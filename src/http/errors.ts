import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { describeZodError, type ErrorCode, GatewayError, HTTP_STATUS } from "../protocol/index.js";

/** The error body of PROTOCOL.md section 8. */
export function errorResponse(c: Context, code: ErrorCode, message: string): Response {
  const requestId = (c.get("requestId" as never) as string | undefined) ?? null;
  return c.json({ error: { code, message }, requestId }, HTTP_STATUS[code] as ContentfulStatusCode);
}

/** Parses with a zod schema or throws INVALID_PAYLOAD naming the failing fields. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = "body",
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new GatewayError("INVALID_PAYLOAD", `Invalid ${what}: ${describeZodError(parsed.error)}`);
  }
  return parsed.data;
}

/** Reads a JSON body, turning malformed JSON into INVALID_PAYLOAD. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new GatewayError("INVALID_PAYLOAD", "A JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("INVALID_PAYLOAD", "The body is not valid JSON");
  }
}

/**
 * Decodes a request path; a malformed percent-escape (`/%`, `/%E0%A4%A`) is the client's error,
 * INVALID_PAYLOAD, never a missing file or a 500.
 */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError("INVALID_PAYLOAD", "The path has a malformed percent-escape");
  }
}

/** The answer for a path no route matched: 400 when the path itself is malformed, else 404. */
export function noRoute(c: Context): Response {
  try {
    decodePath(c.req.path);
  } catch (err) {
    if (err instanceof GatewayError) return errorResponse(c, err.code, err.message);
    throw err;
  }
  return errorResponse(c, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
}
