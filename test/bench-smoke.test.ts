/**
 * The bench harness end to end at a tiny size: real server children (gateway and plain
 * Socket.IO), real load workers, one short latency run against each; the streams and people
 * scenarios the same way.
 */
import { expect, inject, test } from "vitest";
import { runBench } from "../bench/lib/harness.js";
import type { PeopleSide, PresenceKill, StreamsSide } from "../bench/lib/live-scenarios.js";
import { PROFILES } from "../bench/lib/profiles.js";
import { buildRows, formatTable } from "../bench/lib/report.js";

/** The gateway's presence node timeout, short, so the killed node's principals go offline fast. */
const PRESENCE_FAST: Record<string, string> = { PRESENCE_NODE_TIMEOUT_MS: "2000" };

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

test("a tiny streams run relays every delta in order on both servers, stores each stream once and counts the database writes", async () => {
  const quick = PROFILES.quick;
  const result = await runBench({
    profile: {
      ...quick,
      streams: {
        sessions: 4,
        members: 3,
        deltasPerSecond: 10,
        deltasPerStream: 5,
        warmupMs: 300,
        measureMs: 1_500,
      },
      drainMs: 2_000,
    },
    scenarios: ["streams"],
    workers: 2,
    databaseUrl: inject("pgAdminUrl"),
    log: () => {},
    progress: () => {},
  });
  expect(result.errors).toEqual([]);
  const streams = result.scenarios.streams as Record<"gateway" | "plain", StreamsSide>;
  for (const kind of ["gateway", "plain"] as const) {
    const side = streams[kind];
    expect(side.connect.connected).toBe(12);
    expect(side.errors).toEqual({});
    expect(side.measuredDeltas).toBeGreaterThan(30);
    expect(side.received).toBe(side.expected);
    expect(side.expected).toBe(side.measuredDeltas * 2);
    expect(side.streamsEnded).toBeGreaterThan(4);
    expect(side.finalsReceived).toBe(side.finalsExpected);
    expect(side.delivery.p99Ms).toBeGreaterThanOrEqual(side.delivery.p50Ms);
  }
  const g = streams.gateway;
  // The gateway relays each stream's deltas in order (plain Socket.IO with this adapter may not).
  expect(g.outOfOrder).toBe(0);
  expect(g.storedRows).toBe(g.streamsEnded);
  expect(g.storedDistinct).toBe(g.streamsEnded);
  // The gateway wrote for the stream ends (group-committed: at most one statement each) and
  // nothing else: no write per delta.
  expect(g.endWrites).toBeGreaterThan(0);
  expect(g.endWrites).toBeLessThanOrEqual(g.streamsEnded);
  expect(g.otherWrites).toBe(0);
  expect(streams.plain.endWrites + streams.plain.otherWrites).toBe(0);
  const table = formatTable(buildRows(result));
  expect(table).toMatch(/streams\s+4 streams × 10 deltas\/s, 3\/session: delta p50 ms/);
  expect(table).toMatch(/DB write statements: stream ends · audit · other\s+\d+ · \d+ · 0/);
}, 90_000);

test("a tiny people run relays typing and receipts on both servers and sees a killed node's principals go offline", async () => {
  const quick = PROFILES.quick;
  const result = await runBench({
    profile: {
      ...quick,
      people: {
        sessions: 4,
        members: 3,
        typingIntervalMs: 500,
        receiptIntervalMs: 1_000,
        presenceSessions: 2,
        presenceWaitMs: 20_000,
        warmupMs: 300,
        measureMs: 1_500,
      },
      drainMs: 2_000,
    },
    scenarios: ["people"],
    workers: 2,
    databaseUrl: inject("pgAdminUrl"),
    gatewayEnv: PRESENCE_FAST,
    log: () => {},
    progress: () => {},
  });
  expect(result.errors).toEqual([]);
  const people = result.scenarios.people as Record<"gateway" | "plain", PeopleSide> & {
    presence: PresenceKill;
  };
  for (const kind of ["gateway", "plain"] as const) {
    const side = people[kind];
    expect(side.connect.connected).toBe(12);
    expect(side.errors).toEqual({});
    expect(side.measuredTyping).toBeGreaterThan(20);
    expect(side.received).toBe(side.expected);
    expect(side.unmatchedTyping).toBe(0);
    expect(side.receiptsAcked).toBe(side.receiptsSent);
  }
  // Receipts were written, coalesced: at most one statement per flush for all members.
  expect(people.gateway.receiptStatementsPerMemberSecond).toBeGreaterThan(0);
  expect(people.gateway.receiptStatementsPerMemberSecond).toBeLessThanOrEqual(1);
  expect(people.presence).toMatchObject({
    victims: 2,
    onlineBefore: 2,
    offlineSeen: 2,
    correctAfter: 2,
  });
  const table = formatTable(buildRows(result));
  expect(table).toMatch(/people\s+12 sockets in 4 sessions: typing p50 ms/);
  expect(table).toMatch(/seconds until offline/);
}, 90_000);
