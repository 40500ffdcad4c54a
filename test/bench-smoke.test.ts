/**
 * The bench harness end to end at a tiny size: real server children (gateway and plain
 * Socket.IO), real load workers, one short latency run against each.
 */
import { expect, inject, test } from "vitest";
import { runBench } from "../bench/lib/harness.js";
import { PROFILES } from "../bench/lib/profiles.js";
import { buildRows, formatTable } from "../bench/lib/report.js";

test("a tiny latency run delivers every message on both servers and reports the figures", async () => {
  const quick = PROFILES.quick;
  const result = await runBench({
    profile: {
      ...quick,
      latency: { sockets: 20, rate: 100, warmupMs: 300, measureMs: 1_500 },
      drainMs: 2_000,
    },
    scenarios: ["latency"],
    workers: 2,
    databaseUrl: inject("pgAdminUrl"),
    log: () => {},
    progress: () => {},
  });
  expect(result.errors).toEqual([]);
  const latency = result.scenarios.latency as Record<
    "gateway" | "plain",
    { connect: { connected: number }; runs: Array<Record<string, unknown>> }
  >;
  for (const kind of ["gateway", "plain"] as const) {
    const side = latency[kind];
    expect(side.connect.connected).toBe(20);
    const run = side.runs[0] as {
      measuredSent: number;
      received: number;
      deliveredFraction: number;
      errors: Record<string, number>;
      delivery: { count: number; p50Ms: number; p99Ms: number };
    };
    expect(run.measuredSent).toBeGreaterThan(50);
    expect(run.received).toBe(run.measuredSent);
    expect(run.deliveredFraction).toBe(1);
    expect(run.errors).toEqual({});
    expect(run.delivery.count).toBe(run.received);
    expect(run.delivery.p50Ms).toBeGreaterThan(0);
    expect(run.delivery.p99Ms).toBeGreaterThanOrEqual(run.delivery.p50Ms);
  }
  const table = formatTable(buildRows(result));
  expect(table).toMatch(/latency\s+100 msg\/s, 20 sockets: delivery p50 ms/);
}, 60_000);
