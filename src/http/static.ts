/**
 * Serves files from a folder (the built web UI, Swagger UI's assets) through `@hono/node-server`'s
 * `serveStatic`, which resolves paths inside the folder and refuses `..`. Node only: the
 * serverless entry point does not mount it. Added here: the 400 on a malformed percent-escape,
 * immutable caching for hashed assets, and the single-page-app fallback.
 */
import { existsSync } from "node:fs";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Context, MiddlewareHandler } from "hono";
import { decodePath } from "./errors.js";

export interface StaticOptions {
  /** Folder to serve. */
  root: string;
  /** URL prefix stripped before looking up the file, e.g. `/docs/assets`. Default none. */
  prefix?: string;
  /** File served for paths with no file (single-page apps). Default none: 404. */
  fallback?: string;
  /** Cache-Control for files under `assets/` with hashed names. */
  immutablePrefix?: string;
  /** Paths starting with one of these never get the fallback (they belong to the API): 404. */
  noFallbackPrefixes?: string[];
}

const IMMUTABLE = "public, max-age=31536000, immutable";

export function serveFolder(options: StaticOptions): MiddlewareHandler {
  const { prefix } = options;
  // Made on first use once the folder exists (the web UI or SDK may not be built), because
  // serveStatic logs an error when made for a missing folder.
  let files: MiddlewareHandler | undefined;
  let fallback: MiddlewareHandler | undefined;
  const ready = () => {
    if (files || !existsSync(options.root)) return Boolean(files);
    files = serveStatic({
      root: options.root,
      ...(prefix ? { rewriteRequestPath: (p: string) => p.slice(prefix.length) } : {}),
    });
    if (options.fallback) fallback = serveStatic({ root: options.root, path: options.fallback });
    return true;
  };

  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
    // serveStatic treats a malformed escape as a missing file; it is the client's error (400).
    const decoded = decodePath(c.req.path);
    if ((prefix && !decoded.startsWith(prefix)) || !ready() || !files) return next();
    const found = await attempt(files, c);
    if (found) {
      if (options.immutablePrefix && decoded.startsWith(options.immutablePrefix)) {
        found.headers.set("cache-control", IMMUTABLE);
      }
      return found;
    }
    const api = options.noFallbackPrefixes?.some((p) => c.req.path.startsWith(p));
    if (fallback && !api) {
      const page = await attempt(fallback, c);
      if (page) return page;
    }
    return next();
  };
}

/** Runs a serveStatic middleware on its own: its response, or undefined when it has no file. */
async function attempt(serve: MiddlewareHandler, c: Context): Promise<Response | undefined> {
  const res = await serve(c, async () => {});
  return res instanceof Response ? res : undefined;
}
