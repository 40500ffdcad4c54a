/**
 * Security headers on every response, and a Content-Security-Policy on HTML ones (the web UI and
 * Swagger UI under /docs). The policy allows only this origin's scripts, plus the one inline
 * script of the /docs page by its hash; styles may be inline because Swagger UI sets them.
 */
import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";

/** `'sha256-…'` sources for every inline `<script>` in `html`, for `script-src`. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
    hashes.push(
      `'sha256-${createHash("sha256")
        .update(match[1] ?? "")
        .digest("base64")}'`,
    );
  }
  return hashes;
}

export function contentSecurityPolicy(scriptHashes: string[]): string {
  return [
    "default-src 'self'",
    `script-src ${["'self'", ...scriptHashes].join(" ")}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    // 'self' covers ws: and wss: to this origin: Socket.IO's WebSocket.
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function securityHeaders(csp: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set("x-content-type-options", "nosniff");
    headers.set("x-frame-options", "DENY");
    headers.set("referrer-policy", "no-referrer");
    if (headers.get("content-type")?.startsWith("text/html")) {
      headers.set("content-security-policy", csp);
    }
  };
}
