/**
 * The scenario definitions both load harnesses run: the issue's targets as sizes, rates,
 * durations and threshold limits, and the chat message every sender emits. The k6 scenarios
 * (loadtest/scenarios/*.js, run by users against a deployment) take their defaults from here;
 * the bench (bench/, gateway beside plain Socket.IO on one machine) takes its `full` profile and
 * its verdicts from here. Plain JavaScript with no imports so k6 loads it unchanged.
 */

/** Bytes of `content` in every load message. */
export const CONTENT_BYTES = 128;

export const SCENARIOS = {
  /** Ramp to `sockets`, hold them `holdMs`, lose none. */
  connections: {
    sockets: 10000,
    startSockets: 1000,
    holdMs: 5 * 60000,
    /** Members per session the held sockets join. */
    sessionSize: 10,
    connectP95Ms: 1000,
    connectP99Ms: 3000,
    /** Server RSS per held connection (the bench measures it; k6 cannot see the server). */
    rssPerConnectionKB: 15,
  },
  /** Send-to-receive latency at a steady rate over many sockets in shared sessions. */
  latency: {
    sockets: 2000,
    rate: 1000,
    groupSize: 20,
    durationMs: 2 * 60000,
    p50Ms: 3,
    p99Ms: 20,
    /** Share of rate x duration that must be sent and acked. */
    minAckedShare: 0.95,
  },
  /** As latency, with sender and receiver on different nodes. */
  crossNode: {
    sockets: 2000,
    rate: 2000,
    p99Ms: 20,
  },
  /** One sender, many receivers in one session: deliveries/s = receivers x sendRate. */
  fanout: {
    receivers: 1000,
    sendRate: 100,
    durationMs: 60000,
    p99Ms: 50,
    /** Share of the expected deliveries that must arrive. */
    minDeliveredShare: 0.99,
  },
  /** Acked (stored, durable) messages per second, closed-loop. Bench only. */
  throughput: {
    ackedPerSecond: 10000,
  },
};

/**
 * The chat message a load sender emits on `message`. `timestamp` is the sender's wall clock
 * (the gateway stores and broadcasts it unchanged); `metadata` carries what the receiver needs
 * to measure.
 */
export function chatMessage(id, sessionId, content, metadata) {
  return { id, sessionId, type: "text", content, timestamp: Date.now(), metadata };
}

/** `CONTENT_BYTES` of filler content. */
export function filler(bytes = CONTENT_BYTES) {
  return "x".repeat(bytes);
}
