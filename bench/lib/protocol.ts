/** What the orchestrator and the load workers say to each other. */
import type { HistogramData } from "./histogram.js";

export interface SocketSpec {
  /** Token subject (gateway) and member id. */
  sub: string;
  /** Index into `ConnectRequest.urls`. */
  node: number;
  /** Session to join after connecting. */
  sessionId?: string;
  /** Sends messages during runs. */
  send: boolean;
  /** How many sockets receive each message this one sends (for the delivery count). */
  receivers: number;
  /** Loopback source address, for runs beyond one address's ephemeral ports. */
  localAddress?: string;
}

export interface ConnectRequest {
  /** Label for these sockets (one target in one scenario): runs and disconnects name it. */
  group: string;
  urls: string[];
  namespace: string;
  /** JWT secret (gateway); absent for the plain server. */
  secret?: string;
  sockets: SocketSpec[];
  /** Connections opened at once. */
  concurrency: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  joinFailed: number;
  firstError: string | undefined;
  ms: number;
}

export interface RunRequest {
  runId: string;
  /** Only this group's senders send. */
  group: string;
  /** `rate`: this worker sends `rate` messages/s round-robin over its senders. `closed`: each
   * sender keeps `window` messages unacknowledged until the time is up. */
  mode: "rate" | "closed";
  rate: number;
  window: number;
  warmupMs: number;
  measureMs: number;
  contentBytes: number;
  /** How long to wait for outstanding acks after sending stops. */
  ackTimeoutMs: number;
}

export interface RunResult {
  sent: number;
  measuredSent: number;
  /** Deliveries the measured sends should cause. */
  expected: number;
  acked: number;
  unacked: number;
  errors: Record<string, number>;
  ack: HistogramData;
  sendSeconds: number;
  measuredSeconds: number;
}

export interface CollectResult {
  received: number;
  warmReceived: number;
  latency: HistogramData;
}

export interface WorkerStats {
  connected: number;
  disconnects: number;
  connectErrors: number;
  sent: number;
  acked: number;
  received: number;
  disconnectReasons: Record<string, number>;
  held: number;
  groups: Record<string, { connected: number; disconnects: number }>;
  cpuMicros: number;
  rss: number;
}

export interface ServerStats {
  breakdown?: Breakdown;
  rss: number;
  heapUsed: number;
  external: number;
  cpuMicros: number;
  notifies: number;
  /** Write statements the server has sent since it started, by the tables they change. */
  writes?: Record<string, number>;
  attachments: number;
  connections: number;
  /** Database queries queued or running (plain: NOTIFYs still to send). */
  backlog: number;
  listening: boolean;
  loopP99Ms: number;
  loopMaxMs: number;
}

/** Gateway only: where a message's time goes inside the server. */
export interface Breakdown {
  /** Socket `message` events acked, and the sum of their server-side time (receive to ack). */
  ackCount: number;
  ackSumMs: number;
  /** Database appends (group-commit batches are timed per message) and their summed time. */
  appendCount: number;
  appendSumMs: number;
  /** Requests waiting for a database connection, sampled every 10 ms. */
  poolWaitingSum: number;
  poolWaitingMax: number;
  poolSamples: number;
}
