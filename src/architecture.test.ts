/**
 * The dependency rules of src/, read from every file's import statements (type-only and dynamic
 * ones included: each is a dependency someone has to keep working):
 *
 *   protocol ← cluster ← realtime, serverless
 *
 * - `protocol/` imports nothing outside itself but zod: the SDK and the web UI ship it.
 * - `cluster/` knows neither of the two processes built on it.
 * - `realtime/` and `serverless/` never import each other; what they share is in `cluster/`.
 * - `messaging/` is the one path every surface calls, so it knows no surface: no hono, no
 *   socket.io.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.resolve("src");

/** Every TypeScript file under src/, relative to it. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [path.relative(SRC, full)] : [];
  });
}

/** The module specifiers a file imports or re-exports (comments and strings ignored). */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
}

/** The top folder under src/ that a relative import lands in, or the package name. */
function target(file: string, specifier: string): { folder?: string; pkg?: string } {
  if (!specifier.startsWith(".")) return { pkg: specifier };
  const resolved = path.relative(SRC, path.resolve(SRC, path.dirname(file), specifier));
  return { folder: resolved.startsWith("..") ? ".." : resolved.split(path.sep)[0] };
}

const SURFACE_PACKAGE = /^(hono|@hono\/|socket\.io|engine\.io)/;

/** Broken rules, one line each, for files given as `path → source`. */
function violations(files: Record<string, string>): string[] {
  const broken: string[] = [];
  for (const [file, source] of Object.entries(files)) {
    const folder = file.split(path.sep)[0];
    for (const specifier of importsOf(source)) {
      // A test's runner is no dependency of the code it tests.
      if (specifier === "vitest" && file.endsWith(".test.ts")) continue;
      const to = target(file, specifier);
      const say = (rule: string) => broken.push(`${file} imports ${specifier}: ${rule}`);
      if (folder === "protocol" && (to.folder ? to.folder !== "protocol" : to.pkg !== "zod"))
        say("protocol/ imports nothing outside itself but zod (the SDK and the web UI ship it)");
      if (folder === "realtime" && to.folder === "serverless")
        say("realtime/ and serverless/ never import each other (share through cluster/)");
      if (folder === "serverless" && to.folder === "realtime")
        say("realtime/ and serverless/ never import each other (share through cluster/)");
      if (folder === "cluster" && (to.folder === "realtime" || to.folder === "serverless"))
        say("cluster/ sits below realtime/ and serverless/");
      if (folder === "messaging" && to.pkg !== undefined && SURFACE_PACKAGE.test(to.pkg))
        say("messaging/ knows no surface (no hono, no socket.io)");
      if (folder === "messaging" && (to.folder === "http" || to.folder === "realtime"))
        say("messaging/ knows no surface (no http/, no realtime/)");
    }
  }
  return broken;
}

describe("dependency rules of src/", () => {
  it("hold for every file", () => {
    const files = Object.fromEntries(
      sourceFiles().map((file) => [file, readFileSync(path.join(SRC, file), "utf8")]),
    );
    expect(Object.keys(files).length).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });

  it("catch each kind of bad import, type-only and dynamic ones too", () => {
    const file = (folder: string) => path.join(folder, "x.ts");
    expect(
      violations({
        [file("realtime")]: 'import type { X } from "../serverless/publisher.js";',
        [file("serverless")]: 'export { y } from "../realtime/fanout.js";',
        [file("protocol")]: 'import { a } from "../cluster/rooms.js";\nimport pg from "pg";',
        [file("messaging")]: 'const io = await import("socket.io");\nimport { Hono } from "hono";',
        [file("cluster")]: 'import { z } from "../realtime/types.js";',
      }),
    ).toHaveLength(7);
    expect(
      violations({
        [file("protocol")]: 'import { z } from "zod";\nimport { b } from "./schemas.js";',
        [file("realtime")]:
          '// import { x } from "../serverless/index.js";\nconst s = "../serverless";',
      }),
    ).toEqual([]);
  });
});
