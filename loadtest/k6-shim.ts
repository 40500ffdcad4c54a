/**
 * Just enough of k6's JavaScript API, in Node, to run the suite's k6 code in vitest: k6 cannot
 * be installed here, so the tests mock `k6/*` with these (vi.mock) and drive the adapter and the
 * scenarios against a real gateway at a tiny load.
 *
 * - `k6/websockets` is the `ws` package behind k6's browser-style WebSocket API;
 * - `k6/http` is synchronous like k6's: a worker thread runs each request while this thread
 *   waits on a SharedArrayBuffer (`Atomics.wait`), so no process is spawned per request;
 * - `k6/metrics` records every sample so `evaluateThresholds` can judge a scenario's own
 *   `options.thresholds` (counts, percentiles, min/max/avg) the way k6 would.
 */
import { createHmac } from "node:crypto";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { WebSocket as NodeWebSocket } from "ws";

export interface Sample {
  value: number;
  tags: Record<string, string>;
}

/** Every metric sample recorded since the last `resetSamples()`, by metric name. */
export const samples = new Map<string, Sample[]>();
export const metricKinds = new Map<string, "counter" | "trend" | "rate" | "gauge">();
/** Names of failed `check`s, with how often they failed. */
export const failedChecks = new Map<string, number>();

/** Tags k6 itself puts on every sample of a scenario. */
export const systemTags: Record<string, string> = {};

export function resetSamples(): void {
  samples.clear();
  failedChecks.clear();
}

function record(name: string, value: number, tags?: Record<string, unknown>): void {
  const list = samples.get(name) ?? [];
  const merged: Record<string, string> = { ...systemTags };
  for (const [k, v] of Object.entries(tags ?? {})) merged[k] = String(v);
  list.push({ value, tags: merged });
  samples.set(name, list);
}

class Metric {
  constructor(readonly name: string) {}
  add(value: number, tags?: Record<string, unknown>): void {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`${this.name}: k6 metrics take numbers, got ${String(value)}`);
    }
    record(this.name, value, tags);
  }
}

function metricClass(kind: "counter" | "trend" | "rate" | "gauge") {
  return class extends Metric {
    constructor(name: string, _isTime?: boolean) {
      super(name);
      metricKinds.set(name, kind);
    }
  };
}

export const k6Metrics = {
  Counter: metricClass("counter"),
  Trend: metricClass("trend"),
  Rate: metricClass("rate"),
  Gauge: metricClass("gauge"),
};

export const k6 = {
  check(value: unknown, sets: Record<string, (v: unknown) => boolean>): boolean {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = Boolean(fn(value));
      record("checks", ok ? 1 : 0, { check: name });
      if (!ok) {
        all = false;
        failedChecks.set(name, (failedChecks.get(name) ?? 0) + 1);
      }
    }
    return all;
  },
  sleep(): void {},
};

export const k6Crypto = {
  default: {
    hmac(algorithm: string, secret: string, data: string, encoding: string): string {
      if (encoding !== "base64rawurl")
        throw new Error(`shim supports base64rawurl, not ${encoding}`);
      return createHmac(algorithm, secret).update(data).digest("base64url");
    },
  },
};

/** `k6/execution`; tests set `startTime` when a scenario starts. */
export const execution = {
  vu: { idInTest: 1 },
  scenario: { startTime: Date.now(), iterationInTest: 0, name: "test" },
};

interface ShimResponse {
  status: number;
  body: string;
  json(selector?: string): unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

interface Answer {
  id: number;
  status: number;
  body: string;
}

/** The worker that runs requests, started on first use and never holding the process open. */
let http: { worker: Worker; signal: Int32Array; port: MessagePort; lastId: number } | undefined;

function httpWorker() {
  if (http) return http;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./sync-http-worker.js", import.meta.url), {
    workerData: { signal, port: port2 },
    transferList: [port2],
  });
  worker.unref();
  http = { worker, signal, port: port1, lastId: 0 };
  return http;
}

/** Waits for the answer to request `id`, dropping answers to earlier requests that timed out. */
function awaitAnswer(h: NonNullable<typeof http>, id: number): Answer | undefined {
  const deadline = Date.now() + REQUEST_TIMEOUT_MS + 1_000;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    Atomics.wait(h.signal, 0, Atomics.load(h.signal, 0), Math.min(left, 50));
    for (;;) {
      const got = receiveMessageOnPort(h.port) as { message: Answer } | undefined;
      if (!got) break;
      if (got.message.id === id) return got.message;
    }
  }
}

function request(
  method: string,
  url: string,
  body: string | null,
  params?: { headers?: Record<string, string> },
): ShimResponse {
  const h = httpWorker();
  const id = ++h.lastId;
  h.worker.postMessage({
    id,
    method,
    url,
    body,
    headers: params?.headers ?? {},
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const answer = awaitAnswer(h, id) ?? { id, status: 0, body: "request timeout" };
  const text = answer.body;
  return {
    status: answer.status,
    body: text,
    json(selector?: string) {
      let value: unknown = JSON.parse(text);
      for (const key of selector ? selector.split(".") : []) {
        value = (value as Record<string, unknown> | undefined)?.[key];
      }
      return value;
    },
  };
}

export const k6Http = {
  default: {
    post: (url: string, body: string, params?: { headers?: Record<string, string> }) =>
      request("POST", url, body, params),
    get: (url: string, params?: { headers?: Record<string, string> }) =>
      request("GET", url, null, params),
  },
};

export const k6Timers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (h: ReturnType<typeof setTimeout>) => clearTimeout(h),
  setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
  clearInterval: (h: ReturnType<typeof setInterval>) => clearInterval(h),
};

/** Every shim WebSocket ever opened, so tests can close leftovers. */
export const openedSockets = new Set<NodeWebSocket>();

/** k6/websockets' browser-style WebSocket, over `ws`. */
export class K6WebSocket {
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: ((e: { error: string }) => void) | null = null;
  private readonly ws: NodeWebSocket;

  constructor(url: string, _protocols: unknown, params?: { headers?: Record<string, string> }) {
    this.ws = new NodeWebSocket(url, { headers: params?.headers ?? {} });
    openedSockets.add(this.ws);
    this.ws.on("open", () => this.onopen?.({}));
    this.ws.on("message", (data, isBinary) => {
      if (!isBinary) this.onmessage?.({ data: data.toString() });
    });
    this.ws.on("close", (code) => {
      openedSockets.delete(this.ws);
      this.onclose?.({ code });
    });
    this.ws.on("error", (err) => this.onerror?.({ error: err.message }));
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string): void {
    if (this.ws.readyState === NodeWebSocket.OPEN) this.ws.send(data);
  }

  close(): void {
    this.ws.close();
  }
}

export interface ThresholdResult {
  threshold: string;
  expression: string;
  value: number | undefined;
  ok: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
}

/**
 * Judges `thresholds` (k6's `options.thresholds`) against the recorded samples. Only metrics
 * this shim records can be judged; the others (k6 built-ins such as `http_req_duration`) come
 * back in `skipped`. A threshold on a metric with no samples passes, as in k6.
 */
export function evaluateThresholds(thresholds: Record<string, string[]>): {
  results: ThresholdResult[];
  skipped: string[];
} {
  const results: ThresholdResult[] = [];
  const skipped: string[] = [];
  for (const [key, expressions] of Object.entries(thresholds)) {
    const match = /^([^{]+)(?:\{([^}]*)\})?$/.exec(key);
    if (!match) throw new Error(`bad threshold key ${key}`);
    const name = match[1] as string;
    if (!metricKinds.has(name) && name !== "checks") {
      skipped.push(key);
      continue;
    }
    const filter = (match[2] ?? "")
      .split(",")
      .filter(Boolean)
      .map((pair) => pair.split(":") as [string, string]);
    const values = (samples.get(name) ?? [])
      .filter((s) => filter.every(([k, v]) => s.tags[k] === v))
      .map((s) => s.value);
    const sorted = values.slice().sort((a, b) => a - b);
    for (const expression of expressions) {
      const m =
        /^\s*(count|rate|avg|min|max|med|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|<|>)\s*(-?[\d.]+)\s*$/.exec(
          expression,
        );
      if (!m) throw new Error(`shim cannot judge "${expression}" on ${key}`);
      if (values.length === 0) {
        results.push({ threshold: key, expression, value: undefined, ok: true });
        continue;
      }
      const agg = m[1] as string;
      let value: number;
      if (agg === "count") value = values.reduce((a, b) => a + b, 0);
      else if (agg === "rate") value = values.filter((v) => v !== 0).length / values.length;
      else if (agg === "avg") value = values.reduce((a, b) => a + b, 0) / values.length;
      else if (agg === "min") value = sorted[0] as number;
      else if (agg === "max") value = sorted[sorted.length - 1] as number;
      else if (agg === "med") value = percentile(sorted, 50);
      else value = percentile(sorted, Number(m[2]));
      const limit = Number(m[4]);
      const op = m[3];
      const ok =
        op === "<="
          ? value <= limit
          : op === ">="
            ? value >= limit
            : op === "=="
              ? value === limit
              : op === "<"
                ? value < limit
                : value > limit;
      results.push({ threshold: key, expression, value, ok });
    }
  }
  return { results, skipped };
}
