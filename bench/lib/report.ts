/**
 * The table: one row per figure, the gateway beside the plain Socket.IO server, their ratio
 * (gateway ÷ plain) and the target with a verdict for the gateway.
 */
import type { BenchResult, Measured } from "./harness.js";
import { liveRows } from "./live-report.js";
import { TARGETS } from "./profiles.js";
import type { ConnectionsSide } from "./scenarios.js";

export interface Row {
  scenario: string;
  figure: string;
  gateway: string;
  plain: string;
  ratio: string;
  target: string;
  verdict: string;
}

type Sides<T> = Partial<Record<"gateway" | "plain", T>>;
type RunSides = Sides<{ runs: Measured[] }>;

const int = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en");
const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1);
const pct = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : `${(v * 100).toFixed(v >= 0.9995 && v < 1 ? 3 : 1)}%`;

function ratio(g: number | undefined, p: number | undefined): string {
  if (g === undefined || p === undefined || !Number.isFinite(g) || !Number.isFinite(p) || p === 0)
    return "–";
  return (g / p).toFixed(2);
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? "" : ok ? "ok" : "MISS";
}

function cpuCell(m: Measured | undefined): string {
  if (!m) return "–";
  const parts = [m.cpu.servers.join("+"), String(m.cpu.workers)];
  parts.push(m.cpu.postgres === undefined ? "?" : String(m.cpu.postgres));
  parts.push(m.cpu.machineBusy === undefined ? "?" : String(m.cpu.machineBusy));
  return parts.join("/");
}

function runRows(
  rows: Row[],
  scenario: string,
  label: string,
  g: Measured | undefined,
  p: Measured | undefined,
  targets: { p50?: number; p99?: number; judge?: boolean },
) {
  const judge = targets.judge !== false;
  for (const q of ["p50", "p99"] as const) {
    const key = `${q}Ms` as const;
    const target = targets[q];
    rows.push({
      scenario: q === "p50" ? scenario : "",
      figure: `${label}: delivery ${q} ms`,
      gateway: ms(g?.delivery[key]),
      plain: ms(p?.delivery[key]),
      ratio: ratio(g?.delivery[key], p?.delivery[key]),
      target: target ? `<= ${target}` : "",
      verdict: target && judge && g ? verdict(g.delivery[key] <= target) : "",
    });
  }
  rows.push({
    scenario: "",
    figure: `${label}: sent msg/s · delivered`,
    gateway: g ? `${int(g.sentPerSecond)} · ${pct(g.deliveredFraction)}` : "–",
    plain: p ? `${int(p.sentPerSecond)} · ${pct(p.deliveredFraction)}` : "–",
    ratio: "",
    target: "100%",
    verdict: g ? verdict(g.deliveredFraction >= 1 && Object.keys(g.errors).length === 0) : "",
  });
}

export function buildRows(result: BenchResult): Row[] {
  const rows: Row[] = [];
  const full = result.profile.name === "full";
  const s = result.scenarios as Record<string, unknown>;

  const c = s.connections as Sides<ConnectionsSide> | undefined;
  if (c) {
    const g = c.gateway;
    const p = c.plain;
    rows.push({
      scenario: "connections",
      figure: "sockets held × seconds",
      gateway: g ? `${int(g.connected)} × ${int(g.heldSeconds)}` : "–",
      plain: p ? `${int(p.connected)} × ${int(p.heldSeconds)}` : "–",
      ratio: "",
      target: `${int(TARGETS.connectionsHeld)} × ${TARGETS.holdMinutes * 60}`,
      verdict:
        g && full
          ? verdict(
              g.connected >= TARGETS.connectionsHeld && g.heldSeconds >= TARGETS.holdMinutes * 60,
            )
          : "",
    });
    rows.push({
      scenario: "",
      figure: "unexpected disconnects · failed connects",
      gateway: g ? `${g.unexpectedDisconnects} · ${g.failedToConnect}` : "–",
      plain: p ? `${p.unexpectedDisconnects} · ${p.failedToConnect}` : "–",
      ratio: "",
      target: "0 · 0",
      verdict: g ? verdict(g.unexpectedDisconnects === 0 && g.failedToConnect === 0) : "",
    });
    rows.push({
      scenario: "",
      figure: "server RSS per connection, KB",
      gateway: g ? g.rssPerConnectionKB.toFixed(1) : "–",
      plain: p ? p.rssPerConnectionKB.toFixed(1) : "–",
      ratio: ratio(g?.rssPerConnectionKB, p?.rssPerConnectionKB),
      target: `<= ${TARGETS.rssPerConnectionKB}`,
      verdict: g ? verdict(g.rssPerConnectionKB <= TARGETS.rssPerConnectionKB) : "",
    });
    rows.push({
      scenario: "",
      figure: "server JS heap per connection, KB",
      gateway: g ? g.heapPerConnectionKB.toFixed(1) : "–",
      plain: p ? p.heapPerConnectionKB.toFixed(1) : "–",
      ratio: ratio(g?.heapPerConnectionKB, p?.heapPerConnectionKB),
      target: "",
      verdict: "",
    });
    rows.push({
      scenario: "",
      figure: "connect + join time, s",
      gateway: g ? g.connectSeconds.toFixed(1) : "–",
      plain: p ? p.connectSeconds.toFixed(1) : "–",
      ratio: ratio(g?.connectSeconds, p?.connectSeconds),
      target: "",
      verdict: "",
    });
  }

  const l = s.latency as RunSides | undefined;
  if (l) {
    const g = l.gateway?.runs[0];
    const p = l.plain?.runs[0];
    const lp = result.profile.latency;
    runRows(rows, "latency", `${int(lp.rate)} msg/s, ${int(lp.sockets)} sockets`, g, p, {
      p50: TARGETS.latencyP50Ms,
      p99: TARGETS.latencyP99Ms,
    });
    rows.push(...insideRow(g));
    rows.push(...cpuRow(g, p));
  }

  const t = s.throughput as (RunSides & { gatewayRowsStored: number }) | undefined;
  if (t) {
    const g = t.gateway?.runs[0];
    const p = t.plain?.runs[0];
    rows.push({
      scenario: "throughput",
      figure: `acked msg/s (gateway: stored), each to ${result.profile.throughput.sendersPerSession - 1} sockets`,
      gateway: int(g?.ackedPerSecond),
      plain: int(p?.ackedPerSecond),
      ratio: ratio(g?.ackedPerSecond, p?.ackedPerSecond),
      target: `>= ${int(TARGETS.throughputPerSecond)}`,
      verdict: g ? verdict(g.ackedPerSecond >= TARGETS.throughputPerSecond) : "",
    });
    rows.push({
      scenario: "",
      figure: "delivery p99 ms · delivered",
      gateway: g ? `${ms(g.delivery.p99Ms)} · ${pct(g.deliveredFraction)}` : "–",
      plain: p ? `${ms(p.delivery.p99Ms)} · ${pct(p.deliveredFraction)}` : "–",
      ratio: ratio(g?.delivery.p99Ms, p?.delivery.p99Ms),
      target: "",
      verdict: "",
    });
    rows.push({
      scenario: "",
      figure: "database queries still queued at the end",
      gateway: int(g?.backlogAtEnd),
      plain: int(p?.backlogAtEnd),
      ratio: "",
      target: "",
      verdict: "",
    });
    rows.push({
      scenario: "",
      figure: "ack p50 · p99 ms",
      gateway: g ? `${ms(g.ack.p50Ms)} · ${ms(g.ack.p99Ms)}` : "–",
      plain: p ? `${ms(p.ack.p50Ms)} · ${ms(p.ack.p99Ms)}` : "–",
      ratio: ratio(g?.ack.p99Ms, p?.ack.p99Ms),
      target: "",
      verdict: "",
    });
    rows.push(...insideRow(g));
    rows.push(...cpuRow(g, p));
  }

  const f = s.fanout as RunSides | undefined;
  if (f) {
    const fp = result.profile.fanout;
    const best = Math.max(...fp.rates);
    for (const [i, rate] of fp.rates.entries()) {
      const g = f.gateway?.runs[i];
      const p = f.plain?.runs[i];
      const label = `${int(rate)} msg/s × ${fp.members - 1}`;
      rows.push({
        scenario: i === 0 ? "fanout" : "",
        figure: `${label}: deliveries/s`,
        gateway: int(g?.deliveriesPerSecond),
        plain: int(p?.deliveriesPerSecond),
        ratio: ratio(g?.deliveriesPerSecond, p?.deliveriesPerSecond),
        target: rate === best ? `>= ${int(TARGETS.fanoutDeliveriesPerSecond)}` : "",
        verdict:
          g && full && rate === best
            ? verdict(g.deliveriesPerSecond >= TARGETS.fanoutDeliveriesPerSecond)
            : "",
      });
      runRows(rows, "", label, g, p, { p99: TARGETS.fanoutP99Ms, judge: rate === best });
      rows.push(...insideRow(g, `${label}: `));
      rows.push(...cpuRow(g, p, `${label}: `));
    }
  }

  const x = s["cross-node"] as RunSides | undefined;
  if (x) {
    const rates = result.profile.crossNode.rates;
    for (const [i, rate] of rates.entries()) {
      const g = x.gateway?.runs[i];
      const p = x.plain?.runs[i];
      runRows(rows, i === 0 ? "cross-node" : "", `A→B ${int(rate)} msg/s`, g, p, {
        p99: TARGETS.crossNodeP99Ms,
        judge: rate === TARGETS.crossNodeP99AtRate,
      });
      rows.push({
        scenario: "",
        figure: `A→B ${int(rate)} msg/s: NOTIFYs per message`,
        gateway: g ? g.notifiesPerMessage.toFixed(3) : "–",
        plain: p ? p.notifiesPerMessage.toFixed(3) : "–",
        ratio: ratio(g?.notifiesPerMessage, p?.notifiesPerMessage),
        target: "",
        verdict: "",
      });
      rows.push(...insideRow(g, `A→B ${int(rate)} msg/s: `));
      rows.push(...cpuRow(g, p, `A→B ${int(rate)} msg/s: `));
    }
  }
  rows.push(...liveRows(result));
  return rows;
}

/** Where the gateway's time went: server-side ack time, database append time, pool queue, and
 * what its busy Postgres backends were doing. */
function insideRow(g: Measured | undefined, prefix = ""): Row[] {
  const n = g?.inside?.[0];
  const busy = Object.entries(g?.postgresBusy ?? {})
    .slice(0, 3)
    .map(([what, share]) => `${what} ${Math.round(share * 100)}%`)
    .join(", ");
  return [
    {
      scenario: "",
      figure: `${prefix}gateway inside: ack · append ms, pool queue avg/max`,
      gateway: n
        ? `${ms(n.ackMeanMs)} · ${ms(n.appendMeanMs)}, ${n.poolWaitingMean.toFixed(0)}/${n.poolWaitingMax}`
        : "–",
      plain: "",
      ratio: "",
      target: "",
      verdict: "",
    },
    {
      scenario: "",
      figure: `${prefix}gateway's busy Postgres backends`,
      gateway: busy || "–",
      plain: "",
      ratio: "",
      target: "",
      verdict: "",
    },
  ];
}

function cpuRow(g: Measured | undefined, p: Measured | undefined, prefix = ""): Row[] {
  return [
    {
      scenario: "",
      figure: `${prefix}server CPU per message, µs`,
      gateway: int(g?.serverCpuMicrosPerMessage),
      plain: int(p?.serverCpuMicrosPerMessage),
      ratio: ratio(g?.serverCpuMicrosPerMessage, p?.serverCpuMicrosPerMessage),
      target: "",
      verdict: "",
    },
    {
      scenario: "",
      figure: `${prefix}CPU % server/load/postgres/machine`,
      gateway: cpuCell(g),
      plain: cpuCell(p),
      ratio: "",
      target: "",
      verdict: "",
    },
  ];
}

const HEADER: Row = {
  scenario: "scenario",
  figure: "figure",
  gateway: "gateway",
  plain: "plain",
  ratio: "ratio",
  target: "target",
  verdict: "",
};
const KEYS = Object.keys(HEADER) as Array<keyof Row>;

/** Plain text, for the terminal. */
export function formatTable(rows: Row[]): string {
  const widths = KEYS.map((k) => Math.max(...[HEADER, ...rows].map((r) => r[k].length)));
  const line = (r: Row) =>
    KEYS.map((k, i) => (i <= 1 ? r[k].padEnd(widths[i] ?? 0) : r[k].padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(HEADER), ...rows.map(line)].join("\n");
}

/** Markdown, for the README. */
export function formatMarkdown(rows: Row[]): string {
  const esc = (v: string) => v.replace(/\|/g, "\\|");
  const head = `| ${KEYS.map((k) => HEADER[k] || "verdict").join(" | ")} |`;
  const sep = `| ${KEYS.map((_k, i) => (i <= 1 ? "---" : "---:")).join(" | ")} |`;
  return [head, sep, ...rows.map((r) => `| ${KEYS.map((k) => esc(r[k])).join(" | ")} |`)].join(
    "\n",
  );
}
