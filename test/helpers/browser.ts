/**
 * What the browser tests share: Debian's Chromium (never a downloaded one) and the web UI built
 * once per test run. Each browser test file used to build the UI itself with Vite; the first one
 * to ask now builds it into the run's directory and the others wait for that build.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { build } from "vite";
import { inject } from "vitest";
import { waitFor } from "./gateway.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILD_TIMEOUT_MS = 90_000;

/** The web UI as `npm run build:web` ships it, built once per run; its folder, for `webRoot`. */
export async function builtWebRoot(): Promise<string> {
  const dir = inject("webBuildDir");
  const out = path.join(dir, "dist");
  const done = path.join(dir, "done");
  try {
    // mkdir is atomic: exactly one file of the run gets to build.
    await mkdir(path.join(dir, "lock"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await waitFor(
      () =>
        readFile(done, "utf8").then(
          () => true,
          () => false,
        ),
      BUILD_TIMEOUT_MS,
      "the web build",
    );
    const outcome = await readFile(done, "utf8");
    if (outcome !== "ok") throw new Error(`the web build failed in another test file: ${outcome}`);
    return out;
  }
  // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build: test
  // what `npm run build:web` ships.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      configFile: path.join(ROOT, "vite.config.ts"),
      mode: "production",
      logLevel: "warn",
      build: { outDir: out, emptyOutDir: true, sourcemap: false },
    });
    await writeFile(done, "ok");
  } catch (err) {
    await writeFile(done, String(err));
    throw err;
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  return out;
}

/**
 * Collects the page's uncaught errors and console errors into `errors`. Chromium logs every HTTP
 * error status (a refused token's 401) as a console error; those are answers the page handles,
 * not faults, and are left out.
 */
export function recordPageErrors(page: Page, errors: string[]): void {
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      errors.push(msg.text());
    }
  });
}
