/** Types for scenarios.js (plain JavaScript so k6 runs it unchanged). */

export declare const CONTENT_BYTES: number;

export declare const SCENARIOS: {
  connections: {
    sockets: number;
    startSockets: number;
    holdMs: number;
    sessionSize: number;
    connectP95Ms: number;
    connectP99Ms: number;
    rssPerConnectionKB: number;
  };
  latency: {
    sockets: number;
    rate: number;
    groupSize: number;
    durationMs: number;
    p50Ms: number;
    p99Ms: number;
    minAckedShare: number;
  };
  crossNode: { sockets: number; rate: number; p99Ms: number };
  fanout: {
    receivers: number;
    sendRate: number;
    durationMs: number;
    p99Ms: number;
    minDeliveredShare: number;
  };
  throughput: { ackedPerSecond: number };
};

export declare function chatMessage<M>(
  id: string,
  sessionId: string,
  content: string,
  metadata: M,
): { id: string; sessionId: string; type: "text"; content: string; timestamp: number; metadata: M };

export declare function filler(bytes?: number): string;
