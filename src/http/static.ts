/**
 * Serves files from a folder (the built web UI, Swagger UI's assets). Node only: the serverless
 * entry point does not mount it. Paths are resolved inside the folder; anything else is 404.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Context } from "hono";
import { decodePath } from "./errors.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

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

export function serveFolder(options: StaticOptions) {
  const root = path.resolve(options.root);
  return async (c: Context, next: () => Promise<void>) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
    let rel = decodePath(c.req.path);
    if (options.prefix) {
      if (!rel.startsWith(options.prefix)) return next();
      rel = rel.slice(options.prefix.length);
    }
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = path.resolve(root, `.${path.posix.normalize(rel)}`);
    if (!file.startsWith(root + path.sep)) return next();
    const found = await readIfFile(file);
    const fallback =
      options.fallback && !options.noFallbackPrefixes?.some((p) => c.req.path.startsWith(p))
        ? options.fallback
        : undefined;
    const body = found ?? (fallback ? await readIfFile(path.join(root, fallback)) : undefined);
    if (!body) return next();
    const served = found ? file : (fallback ?? file);
    const headers: Record<string, string> = {
      "content-type": TYPES[path.extname(served)] ?? "application/octet-stream",
    };
    if (options.immutablePrefix && rel.startsWith(options.immutablePrefix)) {
      headers["cache-control"] = "public, max-age=31536000, immutable";
    }
    return c.body(new Uint8Array(body), 200, headers);
  };
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
    return await readFile(file);
  } catch {
    return undefined;
  }
}
