/**
 * How big and how long each scenario is. `quick` fits in a minute on a fresh clone; `full` is
 * the targets (10,000 sockets held 5 minutes, 100k deliveries/s, 5,000 msg/s across
 * nodes) and stays under about 15 minutes. The targets themselves live in
 * loadtest/lib/scenarios.js, shared with the k6 scenarios.
 */
import { CONTENT_BYTES, SCENARIOS as DEFINED } from "../../loadtest/lib/scenarios.js";

export type ProfileName = "quick" | "medium" | "full";
export type ScenarioName =
  | "connections"
  | "latency"
  | "throughput"
  | "fanout"
  | "cross-node"
  | "streams"
  | "people";
export const SCENARIOS: ScenarioName[] = [
  "connections",
  "latency",
  "throughput",
  "fanout",
  "cross-node",
  "streams",
  "people",
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
  /** Token streams (issue 11): one streamer per session, back-to-back streams of
   * `deltasPerStream` deltas at `deltasPerSecond`, to the session's other members. */
  streams: Timing & {
    sessions: number;
    members: number;
    deltasPerSecond: number;
    deltasPerStream: number;
  };
  /** People (issue 12): every member sends `typing` every `typingIntervalMs` and a read receipt
   * every `receiptIntervalMs`; then a second gateway node holding `presenceSessions` members is
   * SIGKILLed and the survivors wait (at most `presenceWaitMs`) to see them go offline. */
  people: Timing & {
    sessions: number;
    members: number;
    typingIntervalMs: number;
    receiptIntervalMs: number;
    presenceSessions: number;
    presenceWaitMs: number;
  };
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
    streams: {
      sessions: 20,
      members: 10,
      deltasPerSecond: 20,
      deltasPerStream: 20,
      warmupMs: 500,
      measureMs: 2_000,
    },
    people: {
      sessions: 20,
      members: 10,
      typingIntervalMs: 1_000,
      receiptIntervalMs: 2_000,
      presenceSessions: 10,
      presenceWaitMs: 45_000,
      warmupMs: 1_000,
      measureMs: 3_000,
    },
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
    // The issues' sizes: 100 streams × 20 deltas/s into sessions of 10 (1,000 sockets); 2,000
    // sockets in 200 sessions.
    streams: {
      sessions: 100,
      members: 10,
      deltasPerSecond: 20,
      deltasPerStream: 40,
      warmupMs: 2_000,
      measureMs: 10_000,
    },
    people: {
      sessions: 200,
      members: 10,
      typingIntervalMs: 1_000,
      receiptIntervalMs: 2_000,
      presenceSessions: 50,
      presenceWaitMs: 45_000,
      warmupMs: 2_000,
      measureMs: 10_000,
    },
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
    streams: {
      sessions: 100,
      members: 10,
      deltasPerSecond: 20,
      deltasPerStream: 40,
      warmupMs: 3_000,
      measureMs: 20_000,
    },
    people: {
      sessions: 200,
      members: 10,
      typingIntervalMs: 1_000,
      receiptIntervalMs: 2_000,
      presenceSessions: 100,
      presenceWaitMs: 45_000,
      warmupMs: 3_000,
      measureMs: 20_000,
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
  /** Issues 11 and 12: delta and typing p99 at most this × plain Socket.IO's. */
  liveP99Ratio: 1.5,
  /** Issue 12: receipt writes per member per session per second, at most. */
  receiptWritesPerMemberSecond: 1,
  /** Issue 12: seconds until a SIGKILLed node's principals are offline everywhere. */
  presenceOfflineSeconds: 30,
};
