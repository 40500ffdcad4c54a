/**
 * Where the embedded Postgres keeps its data. As root, Postgres runs as the system user
 * `postgres`, which must be able to enter every parent folder of the data directory: a clone
 * under /root (mode 0700) is out of its reach. The default `.data` then moves to a folder it can
 * reach, keyed by the checkout's path; an explicit DATA_DIR is never moved.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

export const FALLBACK_ROOT = "/var/lib/tkr-gateway";

export interface DataDirChoice {
  dataDir: string;
  /** Set when the default was moved: why, for the log. */
  movedFrom?: string;
}

export function chooseDataDir(
  configured: string,
  options: { explicit: boolean; fallbackRoot?: string },
): DataDirChoice {
  const dataDir = path.resolve(configured);
  if (process.getuid?.() !== 0 || options.explicit) return { dataDir };
  const user = postgresUser();
  if (reachableBy(dataDir, user)) return { dataDir };
  const key = createHash("sha256").update(dataDir).digest("hex").slice(0, 12);
  return {
    dataDir: path.join(
      options.fallbackRoot ?? FALLBACK_ROOT,
      `${path.basename(path.dirname(dataDir))}-${key}`,
    ),
    movedFrom: dataDir,
  };
}

interface Ids {
  uid: number;
  gid: number;
}

/** The `postgres` user's ids; undefined when it does not exist yet (it is created as "other"). */
function postgresUser(): Ids | undefined {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , uid, gid] = line.split(":");
      if (name === "postgres") return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No /etc/passwd: judge by the "other" bits alone.
  }
  return undefined;
}

/** True when `user` may enter every existing folder from `/` down to `dir`. */
export function reachableBy(dir: string, user: Ids | undefined): boolean {
  let current = path.resolve(dir);
  const folders: string[] = [];
  for (;;) {
    folders.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of folders) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(folder);
    } catch {
      continue; // Not there yet: created by root with mode 0755 on the way.
    }
    const mode = Number(stat.mode);
    const ok =
      user && stat.uid === user.uid
        ? mode & 0o100
        : user && stat.gid === user.gid
          ? mode & 0o010
          : mode & 0o001;
    if (!ok) return false;
  }
  return true;
}
