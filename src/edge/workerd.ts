/**
 * Runs the Workers bundle in workerd, the runtime Cloudflare's edge runs: a config generated
 * beside the bundle, the gateway's variables passed as bindings from the environment (never
 * written to disk), the port reported back on workerd's control pipe. Outbound sockets may reach
 * loopback and private addresses, where a local or in-VPC Postgres listens; a deployed Worker
 * reaches the public internet only (see infra/README.md).
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { type RuntimeServer, runtimeServer, waitForPort } from "./child-runtime.js";

/** The compatibility date of this build (infra/wrangler.toml says the same). */
export const COMPATIBILITY_DATE = "2026-06-01";

/** The bindings passed to the Worker when set in `env`. */
export const WORKER_VARIABLES = [
  "DATABASE_URL",
  "AUTH_JWT_SECRET",
  "AUTH_DEV_TOKENS",
  "LOG_LEVEL",
  "NODE_ID",
  "MAX_CONTENT_BYTES",
  "CORS_ORIGINS",
  "DATABASE_POOL_MAX",
] as const;

export interface WorkerdOptions {
  /** The bundle from `buildEdge("worker")`. */
  script: string;
  /** Where the variables come from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  host?: string;
  /**
   * JSON bindings (objects the Worker sees as they are), e.g. a stand-in for a Hyperdrive
   * binding. Written into the config file, which is private to the run and removed on close.
   */
  json?: Record<string, unknown>;
  /** workerd's own output. Default: inherited. */
  stdio?: "inherit" | "ignore";
}

/** A workerd process serving the bundle. */
export type WorkerdServer = RuntimeServer;

export function workerdBinary(): string {
  const require = createRequire(import.meta.url);
  const mod = require("workerd") as { default: string };
  return mod.default;
}

function capnpConfig(names: string[], address: string, json: Record<string, unknown> = {}): string {
  const bindings = [
    ...names.map((name) => `(name = "${name}", fromEnvironment = "${name}")`),
    ...Object.entries(json).map(
      ([name, value]) => `(name = "${name}", json = ${JSON.stringify(JSON.stringify(value))})`,
    ),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "${address}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${bindings.join(", ")}],
);
`;
}

export async function startWorkerd(options: WorkerdOptions): Promise<WorkerdServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? "127.0.0.1";
  const names = WORKER_VARIABLES.filter((name) => env[name] !== undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tkr-workerd-"));
  const configFile = path.join(dir, "config.capnp");
  // capnp embeds resolve beside the config file, so the bundle goes there too.
  copyFileSync(options.script, path.join(dir, "worker.js"));
  writeFileSync(configFile, capnpConfig(names, `${host}:${options.port}`, options.json), {
    mode: 0o600,
  });

  const child = spawn(workerdBinary(), ["serve", configFile, "--control-fd=3"], {
    env: { ...Object.fromEntries(names.map((name) => [name, env[name]])), PATH: process.env.PATH },
    stdio: ["ignore", options.stdio ?? "inherit", options.stdio ?? "inherit", "pipe"],
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const port = await waitForPort(child, child.stdio[3] as NodeJS.ReadableStream, "workerd", (e) =>
    e.event === "listen" && e.socket === "http" && typeof e.port === "number" ? e.port : undefined,
  ).catch((err: unknown) => {
    cleanup();
    throw err;
  });
  return runtimeServer(child, host, port, cleanup);
}
