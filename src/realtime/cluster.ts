/**
 * The cluster adapter: `@socket.io/postgres-adapter` over a pool of its own to the primary's
 * direct URL (LISTEN needs a real session). The released adapter has no 'error' handler on its
 * LISTEN client, so a dropped connection would kill the process; handlers are attached to every
 * client of this pool here. Its state is polled for readiness and metrics.
 */
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";

export interface ClusterOptions {
  /** Direct URL of the primary. */
  url: string;
  logger: Logger;
  metrics: Metrics;
  nodeId: string;
  /**
   * Payloads larger than this go through `socket_io_attachments`. Below 8000, because 0.5.0 is
   * off by one at exactly 8000 bytes and NOTIFY refuses payloads of 8000 bytes or more.
   */
  payloadThreshold?: number;
  /** How often the listener's state is checked, in ms. Default 250. */
  pollMs?: number;
}

export interface Cluster {
  adapter: ReturnType<typeof createAdapter>;
  pool: pg.Pool;
  /** True while the LISTEN connection is up. */
  listening(): boolean;
  /** Called each time the listener comes back after being down (NOTIFYs may have been lost). */
  onListenerRestored(callback: () => void): void;
  close(): Promise<void>;
}

type PubSubLike = { client?: unknown };

export function createCluster(options: ClusterOptions): Cluster {
  const log = options.logger.child({ module: "cluster" });
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 6,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    application_name: `tkr-cluster:${options.nodeId}`,
  });
  pool.on("error", (err) =>
    log.warn({ err: { message: err.message } }, "idle cluster client failed"),
  );
  const checkedOut = new Set<pg.PoolClient>();
  pool.on("acquire", (client) => checkedOut.add(client));
  pool.on("release", (_err, client) => checkedOut.delete(client as pg.PoolClient));
  pool.on("connect", (client) => {
    // The adapter's LISTEN client is checked out for good; without this handler its 'error'
    // event is unhandled and kills the process.
    client.on("error", (err) => {
      options.metrics.clusterErrors.inc();
      log.warn({ err: { message: err.message } }, "cluster connection failed");
    });
    // When that connection ends the adapter takes a new client but never releases the dead
    // one, leaking a pool slot per drop (and making pool.end() wait forever). Release it here.
    client.on("end", () => {
      const held = client as pg.PoolClient;
      if (!checkedOut.has(held)) return;
      try {
        held.release(new Error("cluster connection ended"));
      } catch {
        // Released meanwhile: nothing leaked.
      }
    });
  });

  const adapter = createAdapter(pool, {
    payloadThreshold: options.payloadThreshold ?? 7_000,
    errorHandler: (err) => {
      options.metrics.clusterErrors.inc();
      log.warn({ err: { message: err.message } }, "cluster adapter error");
    },
  });

  // The adapter's PubSubClient is shared by all namespaces and only reachable through one.
  let pubsub: PubSubLike | undefined;
  const restoredCallbacks: Array<() => void> = [];
  let up = false;
  const poll = setInterval(() => {
    const now = pubsub?.client !== undefined;
    if (now !== up) {
      up = now;
      options.metrics.clusterListener.set(up ? 1 : 0);
      log.info({ listening: up }, up ? "cluster listener up" : "cluster listener down");
      if (up) for (const callback of restoredCallbacks) callback();
    }
  }, options.pollMs ?? 250);
  poll.unref();

  // A plain function, not an arrow: Socket.IO calls the adapter factory with `new`.
  const wrapped = function wrappedAdapter(nsp: unknown) {
    const instance = adapter(nsp);
    pubsub ??= (instance as unknown as { client: PubSubLike }).client;
    return instance;
  } as typeof adapter;

  return {
    adapter: wrapped,
    pool,
    listening: () => pubsub?.client !== undefined,
    onListenerRestored(callback) {
      restoredCallbacks.push(callback);
    },
    async close() {
      clearInterval(poll);
      await pool.end().catch(() => {});
    },
  };
}
