/**
 * How big and how long each scenario is. `quick` fits in a minute on a fresh clone; `full` is
 * the targets (10,000 sockets held 5 minutes, 100k deliveries/s, 5,000 msg/s across
 * nodes) and stays under about 15 minutes. The targets themselves live in
 * loadtest/lib/scenarios.js, shared with the k6 scenarios.
 */
import { CONTENT_BYTES, SCENARIOS as DEFINED } from "../../loadtest/lib/scenarios.js";

export type ProfileName = "quick" | "medium" | "full";
export type ScenarioName = "connections" | "latency" | "throughput" | "fanout" | "cross-node";
export const SCENARIOS: ScenarioName[] = [
  "connections",
  "latency",
  "throughput",
  "fanout",
  "cross-node",
];

export interface Timing {
  /** Sending before measuring (JIT, pools, group-commit queues warm up). */
  warmupMs: number;
  measureMs: number;
}

export interface Profile {
  name: ProfileName;
  connections: { sockets: number; holdMs: number; sessionSize: number };
  latency: Timing & { sockets: number; rate: number };
  throughput: Timing & { sessions: number; sendersPerSession: number; window: number };
  /** Messages/s into the sessions, one run each: deliveries/s = rate × (members − 1). */
  fanout: Timing & { sessions: number; members: number; rates: number[] };
  crossNode: Timing & { pairs: number; rates: number[] };
  /** Longest wait for deliveries and acks after sending stops. */
  drainMs: number;
  contentBytes: number;
}

export const PROFILES: Record<ProfileName, Profile> = {
  quick: {
    name: "quick",
    connections: { sockets: 500, holdMs: 2_000, sessionSize: 10 },
    latency: { sockets: 500, rate: 1_000, warmupMs: 300, measureMs: 1_500 },
    throughput: { sessions: 50, sendersPerSession: 4, window: 4, warmupMs: 300, measureMs: 1_500 },
    fanout: { sessions: 5, members: 100, rates: [300], warmupMs: 300, measureMs: 1_500 },
    crossNode: { pairs: 100, rates: [1_000, 2_000], warmupMs: 300, measureMs: 1_500 },
    drainMs: 1_500,
    contentBytes: CONTENT_BYTES,
  },
  medium: {
    name: "medium",
    connections: { sockets: 5_000, holdMs: 60_000, sessionSize: 10 },
    latency: { sockets: 2_000, rate: 1_000, warmupMs: 2_000, measureMs: 10_000 },
    throughput: {
      sessions: 50,
      sendersPerSession: 4,
      window: 4,
      warmupMs: 2_000,
      measureMs: 10_000,
    },
    fanout: { sessions: 20, members: 100, rates: [200, 500], warmupMs: 2_000, measureMs: 8_000 },
    crossNode: { pairs: 500, rates: [1_000, 2_000, 5_000], warmupMs: 2_000, measureMs: 8_000 },
    drainMs: 5_000,
    contentBytes: CONTENT_BYTES,
  },
  full: {
    name: "full",
    connections: {
      sockets: DEFINED.connections.sockets,
      holdMs: DEFINED.connections.holdMs,
      sessionSize: DEFINED.connections.sessionSize,
    },
    latency: {
      sockets: DEFINED.latency.sockets,
      rate: DEFINED.latency.rate,
      warmupMs: 3_000,
      measureMs: 20_000,
    },
    throughput: {
      sessions: 50,
      sendersPerSession: 4,
      window: 4,
      warmupMs: 3_000,
      measureMs: 20_000,
    },
    fanout: {
      sessions: 20,
      members: 100,
      rates: [250, 500, 1_010],
      warmupMs: 2_000,
      measureMs: 10_000,
    },
    crossNode: {
      pairs: 500,
      rates: [1_000, DEFINED.crossNode.rate, 5_000],
      warmupMs: 2_000,
      measureMs: 12_000,
    },
    drainMs: 6_000,
    contentBytes: CONTENT_BYTES,
  },
};

/** The targets, for the gateway's figures. */
export const TARGETS = {
  connectionsHeld: DEFINED.connections.sockets,
  holdMinutes: DEFINED.connections.holdMs / 60_000,
  rssPerConnectionKB: DEFINED.connections.rssPerConnectionKB,
  latencyP50Ms: DEFINED.latency.p50Ms,
  latencyP99Ms: DEFINED.latency.p99Ms,
  throughputPerSecond: DEFINED.throughput.ackedPerSecond,
  fanoutDeliveriesPerSecond: DEFINED.fanout.receivers * DEFINED.fanout.sendRate,
  fanoutP99Ms: DEFINED.fanout.p99Ms,
  crossNodeP99Ms: DEFINED.crossNode.p99Ms,
  crossNodeP99AtRate: DEFINED.crossNode.rate,
};
