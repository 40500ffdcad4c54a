/**
 * `npm run bench`: the gateway against a plain Socket.IO server with the same Postgres adapter,
 * scenario by scenario: connections held (RSS per connection), latency at a steady rate,
 * throughput of stored messages, fan-out to 100-member sessions, and cross-node delivery through
 * LISTEN/NOTIFY. Servers run in child processes (their RSS and CPU are their own); the load comes
 * from socket.io-client sockets in one worker process per core.
 *
 *   npm run bench                  full run (10,000 sockets held 5 min, …), about 12 minutes
 *   npm run bench -- --medium      the same at a medium size, about 4 minutes
 *   npm run bench -- --quick       a small run, under a minute
 *   npm run bench -- --only=latency,cross-node
 *   npm run bench -- --medium --only=streams,people   token streams (issue 11); typing, receipts
 *                                  and presence after a node SIGKILL (issue 12)
 *   npm run bench -- --workers=3   load-generator processes (default: one per core, at least 2)
 *   npm run bench -- --cpu-prof    V8 CPU profiles of the server children, in bench-results/
 *                                  (summarise with `npx tsx bench/profile-summary.ts <folder>`)
 *   npm run bench -- --gateway-env=DATABASE_POOL_MAX=40   a gateway setting for this run
 *   npm run bench -- --pg-setting=synchronous_commit=off   a Postgres setting, for a diagnosis
 *   npm run bench -- --heap-summary   connections: JS heap growth per connection by object kind
 *                                  (heap snapshots; slow and memory-hungry at 10,000 sockets)
 *
 * Database: an embedded Postgres in a temp folder, or scratch databases on DATABASE_URL (created
 * and dropped; existing data is never touched). Results: a table on stdout, progress on stderr,
 * JSON in bench-results/bench-<profile>-<timestamp>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Calibration } from "./lib/calibrate.js";
import { runBench } from "./lib/harness.js";
import { PROFILES, type ProfileName, SCENARIOS, type ScenarioName } from "./lib/profiles.js";
import { buildRows, formatMarkdown, formatTable } from "./lib/report.js";

const DEADLINE_MS: Record<ProfileName, number> = {
  quick: 4 * 60_000,
  medium: 15 * 60_000,
  full: 30 * 60_000,
};

function parseArgs(argv: string[]) {
  let profile: ProfileName = "full";
  let scenarios: ScenarioName[] = [...SCENARIOS];
  let workers: number | undefined;
  let cpuProf = false;
  let heapSummary = false;
  const gatewayEnv: Record<string, string> = {};
  const pgSettings: Record<string, string> = {};
  for (const arg of argv) {
    if (arg === "--quick" || arg === "--medium" || arg === "--full") {
      profile = arg.slice(2) as ProfileName;
    } else if (arg.startsWith("--only=")) {
      const wanted = arg.slice(7).split(",").filter(Boolean);
      const unknown = wanted.filter((w) => !SCENARIOS.includes(w as ScenarioName));
      if (unknown.length)
        throw new Error(
          `unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}`,
        );
      scenarios = SCENARIOS.filter((s) => wanted.includes(s));
    } else if (arg.startsWith("--workers=")) {
      workers = Number(arg.slice(10));
      if (!Number.isInteger(workers) || workers < 1)
        throw new Error("--workers takes a positive integer");
    } else if (arg.startsWith("--gateway-env=")) {
      const [key, ...value] = arg.slice(14).split("=");
      if (!key || value.length === 0) throw new Error("--gateway-env takes NAME=value");
      gatewayEnv[key] = value.join("=");
    } else if (arg.startsWith("--pg-setting=")) {
      const [key, ...value] = arg.slice(13).split("=");
      if (!key || value.length === 0) throw new Error("--pg-setting takes name=value");
      pgSettings[key] = value.join("=");
    } else if (arg === "--heap-summary") {
      heapSummary = true;
    } else if (arg === "--cpu-prof") {
      cpuProf = true;
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  return { profile, scenarios, workers, cpuProf, gatewayEnv, pgSettings, heapSummary };
}

const tty = process.stderr.isTTY === true;
let transient = false;
function log(line: string) {
  process.stderr.write(`${transient && tty ? "\r\x1b[K" : ""}${line}\n`);
  transient = false;
}
function progress(line: string) {
  if (tty) {
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 160) - 1)}`);
    transient = true;
  } else process.stderr.write(`${line}\n`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const cpuProfileDir = args.cpuProf
    ? path.resolve("bench-results", `profiles-${stamp}`)
    : undefined;
  const deadline = setTimeout(() => {
    log(`bench: still running after ${DEADLINE_MS[args.profile] / 60_000} min; giving up`);
    process.exit(1);
  }, DEADLINE_MS[args.profile]);
  deadline.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // Children exit when this process goes (IPC disconnect); the embedded Postgres is stopped
    // by its exit hook.
    process.once(signal, () => {
      log(`${signal}: stopping`);
      process.exit(130);
    });
  }

  const result = await runBench({
    profile: PROFILES[args.profile],
    scenarios: args.scenarios,
    workers: args.workers,
    databaseUrl: process.env.DATABASE_URL || undefined,
    cpuProfileDir,
    gatewayEnv: args.gatewayEnv,
    heapSummary: args.heapSummary,
    pgSettings: args.pgSettings,
    log,
    progress,
  });
  const rows = buildRows(result);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  process.stdout.write(
    "ratio = gateway ÷ plain Socket.IO (same adapter, same Postgres); targets apply to the gateway.\n" +
      "CPU % = server node(s) / load workers / Postgres, each in % of one core; machine = busy % of all cores.\n",
  );
  const yardstick = result.machine.yardstick as Calibration;
  process.stdout.write(
    `machine: ${String(result.machine.cpus)} × ${String(result.machine.cpuModel)}, ` +
      `${String(result.machine.memoryGiB)} GiB, Node ${String(result.machine.node)}; ` +
      `load average before ${result.load.before.join(" ")}, after ${result.load.after.join(" ")}; ` +
      `${result.seconds} s\n` +
      `yardstick: loopback round trip to another process ${yardstick.pacedRoundTripP50Us} µs (p50, ` +
      `one per ms), ${yardstick.pacedCpuPerRoundTripUs} µs of CPU per round trip\n`,
  );
  const report = {
    benchmark: "gateway-vs-plain-socket.io",
    command,
    ...result,
    rows,
    markdown: formatMarkdown(rows),
    cpuProfiles: cpuProfileDir ?? null,
  };
  await mkdir("bench-results", { recursive: true });
  const file = path.join("bench-results", `bench-${args.profile}-${stamp}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
  if (cpuProfileDir) process.stdout.write(`CPU profiles in ${cpuProfileDir}\n`);
  clearTimeout(deadline);
  if (result.errors.length > 0) {
    log(`bench: ${result.errors.length} scenario(s) failed:\n  ${result.errors.join("\n  ")}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
