/**
 * Runs the Deno bundle with the `deno` npm package's binary: the gateway's variables from the
 * environment, permissions limited to what the API needs (network, environment, and the reads
 * and system calls pg makes at start), the port taken from the bundle's "listening" line.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { type RuntimeServer, runtimeServer, waitForPort } from "./child-runtime.js";

export interface DenoOptions {
  /** The bundle from `buildEdge("deno")`. */
  script: string;
  /** Variables for the bundle (the gateway's, `PORT` and `HOST`). */
  env: Record<string, string | undefined>;
  /** Its logs. Default: inherited. */
  stderr?: "inherit" | "ignore";
}

/** A Deno process serving the bundle. */
export type DenoServer = RuntimeServer;

/** The binary from the platform package the `deno` npm package depends on. */
export function denoBinary(): string {
  const require = createRequire(import.meta.url);
  const arch = os.arch() === "arm64" ? "arm64" : "x64";
  const packages = [`@deno/${os.platform()}-${arch}-glibc`, "deno"];
  for (const pkg of packages) {
    try {
      const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "deno");
      if (existsSync(file)) return file;
    } catch {
      // not installed for this platform; try the next
    }
  }
  throw new Error("no deno binary: run npm ci (the deno devDependency brings it)");
}

export async function startDeno(options: DenoOptions): Promise<DenoServer> {
  const host = options.env.HOST ?? "127.0.0.1";
  const child = spawn(
    denoBinary(),
    [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      path.resolve(options.script),
    ],
    {
      env: {
        ...Object.fromEntries(
          Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined),
        ),
        HOST: host,
        PATH: process.env.PATH,
        DENO_NO_UPDATE_CHECK: "1",
      },
      stdio: ["ignore", "pipe", options.stderr ?? "inherit"],
    },
  );
  const port = await waitForPort(child, child.stdout, "deno", (event) =>
    event.msg === "listening" && typeof event.port === "number" ? event.port : undefined,
  );
  return runtimeServer(child, host, port);
}
