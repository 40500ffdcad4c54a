/**
 * Shared setup for the SDK tests: clients with fast timings, closed after each test, and
 * recorders of what a client emits.
 */
import { afterEach } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import {
  type ClientError,
  type ClientStatus,
  type Context,
  createGatewayClient,
  type GatewayClient,
  type GatewayClientOptions,
} from "../src/sdk/index.js";

/** Timings scaled down so reconnects and retries take milliseconds. */
export const FAST = {
  ackTimeoutMs: 3_000,
  connectTimeoutMs: 3_000,
  reconnection: { delayMs: 50, maxDelayMs: 400, jitter: 0.3 },
  heartbeat: { intervalMs: 1_000, timeoutMs: 3_000 },
  retry: { delayMs: 50, maxDelayMs: 500 },
  gapWaitMs: 50,
} satisfies Partial<GatewayClientOptions>;

/** Returns a client factory whose clients are all closed after each test. */
export function clientFactory(): (options: GatewayClientOptions) => GatewayClient {
  const clients: GatewayClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  return (options) => {
    const client = createGatewayClient({ ...FAST, ...options });
    clients.push(client);
    return client;
  };
}

export interface Recorder {
  messages: StoredMessage[];
  contexts: Context[];
  statuses: Array<{ status: ClientStatus; reason: string | undefined; at: number }>;
  errors: ClientError[];
  sent: string[];
}

export function record(client: GatewayClient): Recorder {
  const r: Recorder = { messages: [], contexts: [], statuses: [], errors: [], sent: [] };
  client.on("message", (m) => r.messages.push(m));
  client.on("context", (c) => r.contexts.push(c));
  client.on("status", (status, reason) => r.statuses.push({ status, reason, at: Date.now() }));
  client.on("error", (e) => r.errors.push(e));
  client.on("sent", (result) => r.sent.push(result.id));
  return r;
}

export { createSession } from "./helpers/fixture.js";

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32), so a failing random schedule can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
