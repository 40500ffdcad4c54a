/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile | folder> [top]`: where a server child's CPU
 * went, from the V8 profiles `npm run bench -- --cpu-prof` writes. Self time is summed per
 * function and per package (node_modules/<pkg>, src/<folder>, node: internals), so the
 * bottleneck reads as "socket.io-parser 12%" rather than as a flame graph.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function packageOf(url: string): string {
  if (!url) return "(native / idle / gc)";
  if (url.startsWith("node:")) return url.split("/")[0] ?? url;
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const src = url.indexOf("/src/");
  if (src >= 0) return `src/${url.slice(src + 5).split("/")[0]}`;
  const bench = url.indexOf("/bench/");
  if (bench >= 0) return "bench";
  return url;
}

function summarize(file: string, top: number) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)")
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const perFunction = new Map<string, number>();
  const perPackage = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${packageOf(url)} ${path.basename(url)}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    perFunction.set(key, (perFunction.get(key) ?? 0) + t);
    const pkg = packageOf(url);
    perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  process.stdout.write(
    `\n${path.basename(file)}: ${seconds.toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy ` +
      `(${((100 * busy) / total).toFixed(0)}%)\n  by package (share of busy time):\n`,
  );
  for (const [pkg, t] of [...perPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`    ${pct(t)}  ${pkg}\n`);
  }
  process.stdout.write("  by function (self time):\n");
  for (const [fn, t] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`    ${pct(t)}  ${fn}\n`);
  }
}

const [target, topArg] = process.argv.slice(2);
if (!target) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile | folder> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 15);
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(target, f))
  : [target];
for (const file of files) summarize(file, top);
