/**
 * Prometheus metrics for one node, in a registry of its own (no global state, so tests can run
 * several nodes in one process). The JSON counters of `/metrics/socket` live beside them.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type pg from "pg";
import client from "prom-client";

export interface SocketCounters {
  total_connections: number;
  active_connections: number;
  peak_connections: number;
  reconnections: number;
  failed_connections: number;
  messages_sent: number;
  messages_received: number;
  errors: {
    auth_errors: number;
    network_errors: number;
    timeout_errors: number;
    server_errors: number;
  };
}

export interface Metrics {
  registry: client.Registry;
  connections: client.Gauge<"namespace">;
  connectsTotal: client.Counter<"namespace">;
  messagesIn: client.Counter<"namespace">;
  messagesOut: client.Counter<"namespace">;
  ackLatency: client.Histogram<"event">;
  appendLatency: client.Histogram;
  errors: client.Counter<"code" | "surface">;
  httpRequests: client.Counter<"method" | "route" | "status">;
  clusterListener: client.Gauge;
  clusterErrors: client.Counter;
  /** Connections this node closed to protect itself, by reason (frame-guard.ts, backpressure.ts). */
  socketDrops: client.Counter<"reason">;
  /** Receipt watermark writes: `unit="statements"` (one per flush statement) and `"rows"`. */
  receiptWrites: client.Counter<"unit">;
  socket: SocketCounters;
  /** Adds pool gauges (in use / idle / waiting) for a named pool. */
  observePool(name: string, pool: pg.Pool): void;
  stop(): void;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(options: { nodeId: string }): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ node: options.nodeId });
  client.collectDefaultMetrics({ register: registry, prefix: "tkr_process_" });

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  new client.Gauge({
    name: "tkr_event_loop_lag_seconds",
    help: "Event-loop delay since the last scrape: p99 and max",
    labelNames: ["quantile"],
    registers: [registry],
    collect() {
      this.set({ quantile: "0.99" }, loop.percentile(99) / 1e9);
      this.set({ quantile: "max" }, loop.max / 1e9);
      loop.reset();
    },
  });

  const socket: SocketCounters = {
    total_connections: 0,
    active_connections: 0,
    peak_connections: 0,
    reconnections: 0,
    failed_connections: 0,
    messages_sent: 0,
    messages_received: 0,
    errors: { auth_errors: 0, network_errors: 0, timeout_errors: 0, server_errors: 0 },
  };

  const pools = new Map<string, pg.Pool>();
  new client.Gauge({
    name: "tkr_db_pool_connections",
    help: "Database pool connections by state",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      for (const [name, pool] of pools) {
        this.set({ pool: name, state: "in_use" }, pool.totalCount - pool.idleCount);
        this.set({ pool: name, state: "idle" }, pool.idleCount);
        this.set({ pool: name, state: "waiting" }, pool.waitingCount);
      }
    },
  });

  return {
    registry,
    connections: new client.Gauge({
      name: "tkr_socket_connections",
      help: "Open Socket.IO connections by namespace",
      labelNames: ["namespace"],
      registers: [registry],
    }),
    connectsTotal: new client.Counter({
      name: "tkr_socket_connects_total",
      help: "Socket.IO connections accepted",
      labelNames: ["namespace"],
      registers: [registry],
    }),
    messagesIn: new client.Counter({
      name: "tkr_messages_in_total",
      help: "Messages received from clients and stored",
      labelNames: ["namespace"],
      registers: [registry],
    }),
    messagesOut: new client.Counter({
      name: "tkr_messages_out_total",
      help: "Messages broadcast from this node (one per broadcast, not per recipient)",
      labelNames: ["namespace"],
      registers: [registry],
    }),
    ackLatency: new client.Histogram({
      name: "tkr_ack_latency_seconds",
      help: "Time from receiving a client event to sending its ack",
      labelNames: ["event"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    appendLatency: new client.Histogram({
      name: "tkr_db_append_latency_seconds",
      help: "Database time of one message append (lock, insert, commit)",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    errors: new client.Counter({
      name: "tkr_errors_total",
      help: "Errors answered, by protocol code and surface (http, socket, connect)",
      labelNames: ["code", "surface"],
      registers: [registry],
    }),
    httpRequests: new client.Counter({
      name: "tkr_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    clusterListener: new client.Gauge({
      name: "tkr_cluster_listener_up",
      help: "1 while the cluster adapter's LISTEN connection is up",
      registers: [registry],
    }),
    clusterErrors: new client.Counter({
      name: "tkr_cluster_errors_total",
      help: "Errors reported by the cluster adapter",
      registers: [registry],
    }),
    socketDrops: new client.Counter({
      name: "tkr_socket_drops_total",
      help: "Connections closed by this node to protect itself: outgoing_buffer, oversized_event, incomplete_binary",
      labelNames: ["reason"],
      registers: [registry],
    }),
    receiptWrites: new client.Counter({
      name: "tkr_receipt_writes_total",
      help: "Receipt watermark writes to the database: statements, and member rows they carried",
      labelNames: ["unit"],
      registers: [registry],
    }),
    socket,
    observePool(name, pool) {
      pools.set(name, pool);
    },
    stop() {
      loop.disable();
    },
  };
}
