/**
 * `startEmbeddedPostgres` explains why it cannot start in one sentence with a way out, instead of
 * failing with a bare stack trace. Each test uses fresh temp directories and stops what it starts.
 */
import { spawnSync } from "node:child_process";
import { chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import {
  EmbeddedPostgresError,
  type RunningPostgres,
  startEmbeddedPostgres,
} from "../src/db/embedded.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tkr-embedded-test-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dataDir: string): Promise<RunningPostgres> {
  const running = await startEmbeddedPostgres({ dataDir });
  cleanups.push(() => running.stop());
  return running;
}

/** The error `startEmbeddedPostgres` rejects with, checked to be ours and readable. */
async function startFailure(options: Parameters<typeof startEmbeddedPostgres>[0]) {
  const error = await startEmbeddedPostgres(options).then(
    async (running) => {
      await running.stop();
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(EmbeddedPostgresError);
  const message = (error as Error).message;
  expect((error as Error).name).toBe("EmbeddedPostgresError");
  // A sentence for a person, not a dump of Postgres's log.
  expect(message.length).toBeLessThan(400);
  expect(message).not.toMatch(/^\s*at /m);
  return message;
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("embedded Postgres start-up failures", () => {
  it("names the port and the way out when the port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    if (!address || typeof address !== "object") throw new Error("no address");
    const dataDir = await tempDir();

    const message = await startFailure({ dataDir, port: address.port });
    expect(message).toContain(`Port ${address.port} is already in use`);
    expect(message).toContain("DATABASE_URL");
    // Refused before initdb: the directory was not touched.
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("refuses a data directory made by another PostgreSQL major version, saying which", async () => {
    const dataDir = await tempDir();
    await writeFile(path.join(dataDir, "PG_VERSION"), "9\n");

    const message = await startFailure({ dataDir });
    expect(message).toContain(dataDir);
    expect(message).toMatch(/made by PostgreSQL 9, but the embedded server is PostgreSQL \d{2}/);
    expect(message).toMatch(/DATA_DIR|DATABASE_URL/);
    // Nothing was written into someone else's cluster.
    expect(await readdir(dataDir)).toEqual(["PG_VERSION"]);
    expect(await readFile(path.join(dataDir, "PG_VERSION"), "utf8")).toBe("9\n");
  });

  it("refuses a data directory a running embedded Postgres holds, and recovers from a stale lock after it stops", async () => {
    const dataDir = await tempDir();
    const first = await start(dataDir);
    const lockFile = path.join(dataDir, "postmaster.pid");
    const lock = await readFile(lockFile, "utf8");

    const message = await startFailure({ dataDir });
    expect(message).toContain(`Another Postgres is already using ${dataDir}`);
    expect(message).toContain("DATA_DIR");
    // The failed attempt left the running server alone.
    expect(await query(first.url, "select 1 as ok")).toEqual([{ ok: 1 }]);
    await first.stop();

    // A crash leaves postmaster.pid behind, naming a process that no longer exists.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const [, ...rest] = lock.split("\n");
    await writeFile(lockFile, [String(dead), ...rest].join("\n"));
    const owner = await stat(dataDir);
    await chown(lockFile, owner.uid, owner.gid);

    const second = await start(dataDir);
    expect(await query(second.url, "select 2 as ok")).toEqual([{ ok: 2 }]);
  });
});
