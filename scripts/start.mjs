/**
 * `npm start`: builds what is stale (the server into dist/ with tsc, the web UI into dist/web
 * with Vite), then runs the compiled gateway in this very process, so SIGTERM/SIGINT reach
 * main.ts directly. A second start with nothing changed builds nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const at = (...parts) => path.join(root, ...parts);

function newest(entry, skip = () => false) {
  if (!existsSync(entry) || skip(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const name of readdirSync(entry))
    latest = Math.max(latest, newest(path.join(entry, name), skip));
  return latest;
}

function packageDir(pkg) {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return at("node_modules", pkg);
  }
}

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

function run(what, bin, args) {
  process.stderr.write(`npm start: building ${what}…\n`);
  // Resolve the package folder, not the bin file: a package's `exports` may hide its bin path
  // (vite's does), while node_modules/<pkg> is where npm puts it either way.
  const pkg = bin.split("/")[0];
  const script = path.join(packageDir(pkg), bin.slice(pkg.length + 1));
  if (!existsSync(script)) {
    process.stderr.write(
      `npm start: ${what} is missing or out of date and ${bin.split("/")[0]} is not installed ` +
        "(a production install?): run `npm install && npm run build`, or start `node dist/main.js`.\n",
    );
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const configs = Math.max(
  mtime(at("package.json")),
  mtime(at("tsconfig.json")),
  mtime(at("tsconfig.build.json")),
);
const serverSources = Math.max(
  configs,
  newest(at("src"), (p) => p === at("src/web") || p === at("src/sdk") || p.endsWith(".test.ts")),
);
if (serverSources > mtime(at("dist/main.js"))) {
  run("the server (dist/)", "typescript/bin/tsc", ["-p", "tsconfig.build.json"]);
}
// The UI bundles the SDK and the protocol module as well as its own folder.
const webSources = Math.max(
  configs,
  mtime(at("vite.config.ts")),
  newest(at("src/web")),
  newest(at("src/sdk"), (p) => p.endsWith(".test.ts")),
  newest(at("src/protocol"), (p) => p.endsWith(".test.ts")),
);
if (webSources > mtime(at("dist/web/index.html"))) {
  run("the web UI (dist/web)", "vite/bin/vite.js", ["build", "--logLevel", "warn"]);
}

await import(pathToFileURL(at("dist/main.js")).href);
