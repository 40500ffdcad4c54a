/** Table rows of the streams and people scenarios (bench/lib/live-scenarios.ts). */
import type { BenchResult } from "./harness.js";
import type { PeopleSide, PresenceKill, StreamsSide } from "./live-scenarios.js";
import { TARGETS } from "./profiles.js";
import type { Row } from "./report.js";

type Sides<T> = Partial<Record<"gateway" | "plain", T>>;

const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1);
const int = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en");
const pct = (v: number | undefined) => (v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits);

function ratio(g: number | undefined, p: number | undefined): string {
  if (g === undefined || p === undefined || !Number.isFinite(g) || !Number.isFinite(p) || p === 0)
    return "–";
  return (g / p).toFixed(2);
}

function row(
  scenario: string,
  figure: string,
  gateway: string,
  plain = "",
  extra: Partial<Pick<Row, "ratio" | "target" | "verdict">> = {},
): Row {
  return { scenario, figure, gateway, plain, ratio: "", target: "", verdict: "", ...extra };
}

const verdict = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? "ok" : "MISS");

function latencyRows(
  scenario: string,
  label: string,
  g: { p50Ms: number; p99Ms: number } | undefined,
  p: { p50Ms: number; p99Ms: number } | undefined,
): Row[] {
  const p99Ratio = g && p ? g.p99Ms / p.p99Ms : undefined;
  return [
    row(scenario, `${label} p50 ms`, ms(g?.p50Ms), ms(p?.p50Ms), {
      ratio: ratio(g?.p50Ms, p?.p50Ms),
    }),
    row("", `${label} p99 ms`, ms(g?.p99Ms), ms(p?.p99Ms), {
      ratio: ratio(g?.p99Ms, p?.p99Ms),
      target: `<= ${TARGETS.liveP99Ratio}× plain`,
      verdict: verdict(p99Ratio === undefined ? undefined : p99Ratio <= TARGETS.liveP99Ratio),
    }),
  ];
}

function streamsRows(result: BenchResult, s: Sides<StreamsSide>): Row[] {
  const sp = result.profile.streams;
  const g = s.gateway;
  const p = s.plain;
  const label = `${sp.sessions} streams × ${sp.deltasPerSecond} deltas/s, ${sp.members}/session`;
  const writesCell = (side: StreamsSide | undefined) =>
    side ? `${int(side.endWrites)} · ${int(side.auditWrites)} · ${int(side.otherWrites)}` : "–";
  return [
    ...latencyRows("streams", `${label}: delta`, g?.delivery, p?.delivery),
    row(
      "",
      "deltas/s sent · delivered · out of order",
      g ? `${int(g.deltasPerSecond)} · ${pct(g.deliveredFraction)} · ${g.outOfOrder}` : "–",
      p ? `${int(p.deltasPerSecond)} · ${pct(p.deliveredFraction)} · ${p.outOfOrder}` : "–",
      {
        target: "100% · 0",
        verdict: g
          ? verdict(g.deliveredFraction >= 1 && g.outOfOrder === 0 && !Object.keys(g.errors).length)
          : "",
      },
    ),
    row("", "DB write statements: stream ends · audit · other", writesCell(g), writesCell(p), {
      target: "other 0",
      verdict: g ? verdict(g.otherWrites === 0) : "",
    }),
    row(
      "",
      "WAL bytes per delta (whole server, ends included)",
      g ? int(g.writes.walBytes / Math.max(1, g.deltasSent)) : "–",
      p ? int(p.writes.walBytes / Math.max(1, p.deltasSent)) : "–",
    ),
    row(
      "",
      "streams ended · rows stored (distinct ids)",
      g ? `${int(g.streamsEnded)} · ${int(g.storedRows)} (${int(g.storedDistinct)})` : "–",
      p ? `${int(p.streamsEnded)} · –` : "–",
      {
        target: "once each",
        verdict: g
          ? verdict(g.storedRows === g.streamsEnded && g.storedDistinct === g.storedRows)
          : "",
      },
    ),
    row(
      "",
      "final messages received / expected · aborts",
      g ? `${int(g.finalsReceived)} / ${int(g.finalsExpected)} · ${g.aborts}` : "–",
      p ? `${int(p.finalsReceived)} / ${int(p.finalsExpected)} · ${p.aborts}` : "–",
    ),
    row(
      "",
      "stream:start · stream:end ack p99 ms",
      g ? `${ms(g.startAck.p99Ms)} · ${ms(g.endAck.p99Ms)}` : "–",
      p ? `${ms(p.startAck.p99Ms)} · ${ms(p.endAck.p99Ms)}` : "–",
    ),
    row(
      "",
      "server CPU per delta, µs",
      int(g?.serverCpuMicrosPerDelta),
      int(p?.serverCpuMicrosPerDelta),
      { ratio: ratio(g?.serverCpuMicrosPerDelta, p?.serverCpuMicrosPerDelta) },
    ),
  ];
}

function peopleRows(
  result: BenchResult,
  s: Sides<PeopleSide> & { presence?: PresenceKill },
): Row[] {
  const pp = result.profile.people;
  const g = s.gateway;
  const p = s.plain;
  const k = s.presence;
  const members = pp.sessions * pp.members;
  const rows: Row[] = [
    ...latencyRows(
      "people",
      `${int(members)} sockets in ${pp.sessions} sessions: typing`,
      g?.typing,
      p?.typing,
    ),
    row(
      "",
      "typing delivered · errors",
      g ? `${pct(g.deliveredFraction)} · ${JSON.stringify(g.errors)}` : "–",
      p ? `${pct(p.deliveredFraction)} · ${JSON.stringify(p.errors)}` : "–",
      { target: "100%", verdict: g ? verdict(g.deliveredFraction >= 1) : "" },
    ),
    row(
      "",
      "receipts sent · acked · receipt events seen",
      g ? `${int(g.receiptsSent)} · ${int(g.receiptsAcked)} · ${int(g.receiptEvents)}` : "–",
      p ? `${int(p.receiptsSent)} · ${int(p.receiptsAcked)} · ${int(p.receiptEvents)}` : "–",
    ),
    row(
      "",
      "receipt DB writes per member per second (rows · statements)",
      g ? `${num(g.receiptRowsPerMemberSecond)} · ${num(g.receiptStatementsPerMemberSecond)}` : "–",
      p ? `${num(p.receiptRowsPerMemberSecond)} · ${num(p.receiptStatementsPerMemberSecond)}` : "–",
      {
        target: `<= ${TARGETS.receiptWritesPerMemberSecond}`,
        // No acked receipt, nothing to judge: a write count of 0 then proves nothing.
        verdict:
          g?.receiptRowsPerMemberSecond === null || g === undefined
            ? ""
            : verdict(
                g.receiptsAcked > 0 &&
                  g.receiptRowsPerMemberSecond <= TARGETS.receiptWritesPerMemberSecond,
              ),
      },
    ),
    row(
      "",
      "receipt ack p99 ms · server CPU per event µs",
      g ? `${ms(g.receiptAck.p99Ms)} · ${int(g.serverCpuMicrosPerEvent)}` : "–",
      p ? `${ms(p.receiptAck.p99Ms)} · ${int(p.serverCpuMicrosPerEvent)}` : "–",
    ),
  ];
  if (k) {
    rows.push(
      row(
        "",
        `node SIGKILL, ${k.victims} principals on it: online before · offline seen`,
        `${k.onlineBefore} · ${k.offlineSeen}`,
        "",
        { target: `${k.victims} · ${k.victims}` },
      ),
      row(
        "",
        "seconds until offline p50 · max · correct after",
        `${num(k.offlineP50Seconds, 1)} · ${num(k.offlineMaxSeconds, 1)} · ${k.correctAfter}/${k.victims}`,
        "",
        {
          target: `<= ${TARGETS.presenceOfflineSeconds} s`,
          verdict: verdict(
            k.offlineWithinTarget === k.victims &&
              k.onlineBefore === k.victims &&
              k.correctAfter === k.victims,
          ),
        },
      ),
    );
  }
  return rows;
}

export function liveRows(result: BenchResult): Row[] {
  const s = result.scenarios as Record<string, unknown>;
  return [
    ...(s.streams ? streamsRows(result, s.streams as Sides<StreamsSide>) : []),
    ...(s.people
      ? peopleRows(result, s.people as Sides<PeopleSide> & { presence?: PresenceKill })
      : []),
  ];
}
