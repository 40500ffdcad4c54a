/**
 * CPU time from /proc: the whole machine's busy share (other work on the box shows up here) and
 * the embedded Postgres's processes (the postmaster and its children). Linux only; elsewhere the
 * readings are undefined and the report says so.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  at: number;
  machine?: { busy: number; total: number };
  /** CPU seconds so far of each Postgres process, by pid. */
  postgres?: Map<number, number>;
}

function machine(): CpuSnapshot["machine"] {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

function postgresSeconds(postmaster: number | undefined): Map<number, number> | undefined {
  if (!postmaster) return undefined;
  const seconds = new Map<number, number>();
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue;
      }
      // Fields after the command (which may hold spaces) start at state: ppid is the 2nd of them.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pid = Number(entry);
      const ppid = Number(rest[1]);
      if (pid !== postmaster && ppid !== postmaster) continue;
      seconds.set(pid, (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND);
    }
  } catch {
    return undefined;
  }
  return seconds;
}

export function cpuSnapshot(postmaster: number | undefined): CpuSnapshot {
  const snap: CpuSnapshot = { at: performance.now() };
  const m = machine();
  if (m) snap.machine = m;
  const pg = postgresSeconds(postmaster);
  if (pg !== undefined) snap.postgres = pg;
  return snap;
}

/** Busy share of all cores, 0–100, and Postgres in % of one core, between two snapshots. */
export function cpuBetween(
  a: CpuSnapshot,
  b: CpuSnapshot,
): { machineBusyPct?: number; postgresPct?: number } {
  const out: { machineBusyPct?: number; postgresPct?: number } = {};
  if (a.machine && b.machine && b.machine.total > a.machine.total) {
    out.machineBusyPct = Math.round(
      (100 * (b.machine.busy - a.machine.busy)) / (b.machine.total - a.machine.total),
    );
  }
  const seconds = (b.at - a.at) / 1000;
  if (a.postgres && b.postgres && seconds > 0) {
    // Per process, so backends that exit meanwhile do not make the sum go backwards (their
    // last interval is missed instead); new ones count from their start.
    let used = 0;
    for (const [pid, s] of b.postgres) used += s - (a.postgres.get(pid) ?? 0);
    out.postgresPct = Math.round((100 * used) / seconds);
  }
  return out;
}
