/**
 * `npm run cluster -- --nodes 3`: a local cluster. One Postgres (the embedded one, data under
 * `DATA_DIR`, default `.data/cluster`; or `DATABASE_URL` when set) and N gateway nodes as child
 * processes (`src/main.ts`), node i on port `--base-port` + i (default 3000) with NODE_ID
 * `node-i`, bound to 127.0.0.1 unless HOST is set. They share one AUTH_JWT_SECRET (the
 * environment's, or a random one for this run), so a dev token from any node works on all of
 * them. Each node's log lines are prefixed with its name. SIGTERM stops the nodes (each drains
 * as in production), then Postgres. Ctrl-C does the same, but the terminal sends SIGINT to
 * Postgres too, so the nodes drain against a Postgres that is already shutting down (they log it
 * and stop all the same).
 *
 * An entry point like `main.ts`, so it reads the environment itself: DATA_DIR, DATABASE_URL,
 * EMBEDDED_PG_PORT and AUTH_JWT_SECRET here; everything else passes through to the nodes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createDatabase } from "../src/db/client.js";
import {
  EmbeddedPostgresError,
  type RunningPostgres,
  startEmbeddedPostgres,
} from "../src/db/embedded.js";
import { runMigrations } from "../src/db/migrate.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COLORS = [36, 33, 35, 32, 34, 31];
const tty = process.stdout.isTTY === true;

function say(message: string): void {
  process.stdout.write(`${tty ? "\x1b[1m[cluster]\x1b[0m" : "[cluster]"} ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

function count(text: string | undefined, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/** Prefixes each line a node prints with its name (coloured on a terminal). */
function relay(stream: NodeJS.ReadableStream, name: string, index: number, to: NodeJS.WriteStream) {
  const color = COLORS[index % COLORS.length];
  const prefix = tty ? `\x1b[${color}m[${name}]\x1b[0m ` : `[${name}] `;
  createInterface({ input: stream }).on("line", (line) => to.write(`${prefix}${line}\n`));
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string", short: "n", default: "3" },
      "base-port": { type: "string", default: "3000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run cluster -- [--nodes N] [--base-port P]\n" +
        "  N gateway nodes (default 3) on ports P, P+1, … (default 3000) sharing one Postgres.\n",
    );
    return;
  }
  const nodes = count(values.nodes, "--nodes", 1, 32);
  const basePort = count(values["base-port"], "--base-port", 1, 65_535 - nodes);

  let embedded: RunningPostgres | undefined;
  let databaseUrl = process.env.DATABASE_URL || undefined;
  if (!databaseUrl) {
    const dataDir = path.resolve(process.env.DATA_DIR || ".data/cluster");
    const pgPort = count(process.env.EMBEDDED_PG_PORT || "0", "EMBEDDED_PG_PORT", 0, 65_535);
    say(`starting embedded Postgres (data in ${dataDir})`);
    try {
      embedded = await startEmbeddedPostgres({
        dataDir,
        ...(pgPort ? { port: pgPort } : {}),
        // Each node holds up to DATABASE_POOL_MAX (20) + 6 cluster connections.
        postgresFlags: ["-c", `max_connections=${Math.max(100, nodes * 30 + 20)}`],
      });
    } catch (err) {
      if (err instanceof EmbeddedPostgresError) fail(err.message);
      throw err;
    }
    databaseUrl = embedded.url;
    say(`embedded Postgres on port ${embedded.port}`);
  }

  // Once here, so the nodes start together without queueing on the migration lock.
  const database = createDatabase({ url: databaseUrl, max: 1, applicationName: "tkr-cluster" });
  try {
    await runMigrations(database.pool);
  } finally {
    await database.close();
  }

  const secret = process.env.AUTH_JWT_SECRET || randomBytes(32).toString("hex");
  if (!process.env.AUTH_JWT_SECRET) {
    say("AUTH_JWT_SECRET not set: a random one is shared by the nodes for this run");
  }

  const children: Array<{ name: string; url: string; child: ChildProcess }> = [];
  let stopping = false;
  const exits: Array<Promise<void>> = [];

  async function stop(code: number): Promise<never> {
    if (!stopping) {
      stopping = true;
      say("stopping the nodes");
      for (const { child } of children) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      }
      const force = setTimeout(() => {
        for (const { child } of children) child.kill("SIGKILL");
      }, 20_000);
      await Promise.all(exits);
      clearTimeout(force);
      if (embedded) {
        say("stopping Postgres");
        await embedded.stop().catch(() => {});
      }
      process.exit(code);
    }
    return new Promise<never>(() => {});
  }
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  for (let i = 0; i < nodes; i++) {
    const name = `node-${i}`;
    const port = basePort + i;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        // A development cluster: this machine only, unless HOST says otherwise.
        HOST: process.env.HOST || "127.0.0.1",
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        NODE_ID: name,
        AUTH_DEV_TOKENS: "true",
        AUTH_JWT_SECRET: secret,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    relay(child.stdout as NodeJS.ReadableStream, name, i, process.stdout);
    relay(child.stderr as NodeJS.ReadableStream, name, i, process.stderr);
    exits.push(
      new Promise((resolve) =>
        child.once("exit", (exitCode, signal) => {
          if (!stopping) say(`${name} exited (${signal ?? `code ${exitCode}`})`);
          resolve();
          const alive = children.some((c) => c.child.exitCode === null && !c.child.signalCode);
          if (!stopping && !alive) void stop(1);
        }),
      ),
    );
    children.push({ name, url: `http://localhost:${port}`, child });
  }

  const ready = await Promise.all(children.map((c) => waitReady(c.url, c.child, 60_000)));
  if (stopping) return;
  say(`${ready.filter(Boolean).length} of ${nodes} nodes ready on one Postgres`);
  for (const [i, c] of children.entries()) {
    say(`  ${c.name}  ${c.url}${ready[i] ? "" : "  (not ready)"}`);
  }
  say(
    `dev token: curl -s -X POST ${children[0]?.url}/v1/dev/token ` +
      `-H 'content-type: application/json' -d '{"sub":"me","kind":"user"}'`,
  );
  say("Ctrl-C stops everything");
}

main().catch((err: unknown) => {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
