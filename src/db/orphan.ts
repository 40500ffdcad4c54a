/**
 * A gateway killed with SIGKILL (or by the OOM killer) leaves its embedded postmaster running,
 * holding the data directory and its port. The next start finds it through `postmaster.pid`,
 * makes sure it is a Postgres serving this very directory and that no live gateway owns it
 * (`gateway.pid`, written by the gateway that started it), and stops it with a fast shutdown.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const OWNER_FILE = "gateway.pid";

export interface OrphanReport {
  pid: number;
  ownerPid: number;
}

/** Records this process as the owner of the cluster in `dataDir`. */
export function claimDataDir(dataDir: string): void {
  writeFileSync(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
}

export function releaseDataDir(dataDir: string): void {
  try {
    if (readPid(path.join(dataDir, OWNER_FILE)) === process.pid) {
      rmSync(path.join(dataDir, OWNER_FILE), { force: true });
    }
  } catch {
    // Nothing to release.
  }
}

/**
 * Stops the postmaster in `dataDir` when it was left behind by a dead gateway; resolves with
 * what it stopped, or undefined when there was nothing to stop (or it is not ours to stop).
 */
export async function stopOrphanedPostmaster(
  dataDir: string,
  timeoutMs = 20_000,
): Promise<OrphanReport | undefined> {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  if (path.resolve(lines[1] ?? "") !== path.resolve(dataDir)) return undefined;
  if (!/postgres/.test(commandOf(pid))) return undefined;
  const ownerPid = readPid(path.join(dataDir, OWNER_FILE));
  // No owner file: not started by a gateway (or by one too old to write it); not ours to stop.
  if (ownerPid === undefined) return undefined;
  // A live owner (this very process included: a second start in it) keeps its server.
  if (alive(ownerPid)) return undefined;

  process.kill(pid, "SIGINT");
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) process.kill(pid, "SIGQUIT");
    if (Date.now() > deadline + 5_000) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid, ownerPid };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    // No /proc (macOS): the data directory and owner checks above must do.
    return "postgres";
  }
}
