/**
 * The cluster adapter: `@socket.io/postgres-adapter` over a pool of its own to the primary's
 * direct URL (LISTEN needs a real session). The released adapter has no 'error' handler on its
 * LISTEN client, so a dropped connection would kill the process; handlers are attached to every
 * client of this pool here. Its state is polled for readiness and metrics, and the LISTEN
 * connection is probed now and then, because a connection that silently stopped passing bytes
 * (a NAT or proxy that lost the flow) looks up to the adapter until TCP keepalive gives up, which
 * on Linux defaults takes over ten minutes.
 *
 * Every workaround below reaches into the adapter's private members (`PubSubClient`, 0.5.0):
 * package.json pins that version and `createCluster` refuses to start when one is missing
 * (adapter-internals.ts). Each says which upstream bug it works around.
 */
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { checkAdapterInternals, PINNED_ADAPTER_VERSION } from "./adapter-internals.js";

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
  /**
   * Milliseconds between probes of the LISTEN connection (a round trip on it); a probe left
   * unanswered for `probeTimeoutMs` ends the connection, and the adapter opens a new one.
   * Default 10,000; 0 turns probing off.
   */
  probeMs?: number;
  /** How long a probe may take before the connection counts as dead, in ms. Default 5,000. */
  probeTimeoutMs?: number;
}

export interface Cluster {
  adapter: ReturnType<typeof createAdapter>;
  pool: pg.Pool;
  /** True while the LISTEN connection is up, as of the last poll (at most `pollMs` old). */
  listening(): boolean;
  /** Called each time the listener comes back after being down (NOTIFYs may have been lost). */
  onListenerRestored(callback: () => void): void;
  close(): Promise<void>;
}

/** The adapter's shared PubSubClient, as far as it is used here (0.5.0 internals). */
type PubSubLike = {
  client?: pg.PoolClient;
  channels: Set<string>;
  scheduleReconnection: () => void;
  initClient: () => Promise<void>;
  close: () => void;
};

/**
 * Keeps at most one reconnection of the adapter's listener pending. Upstream bug (0.5.0,
 * `PubSubClient.initClient`): a connection that drops while its LISTEN statements run schedules
 * two reconnections (its 'end' handler and the failed query's catch each do), so two listeners
 * come up, one never released: a pool slot leaked, every notification handled twice, and each
 * later drop of the stray one multiplying them again.
 */
function guardReconnection(client: PubSubLike): void {
  // Checked at createCluster; a PubSubClient built some other way must not slip through.
  if (typeof client.scheduleReconnection !== "function" || typeof client.initClient !== "function")
    throw new Error(
      `@socket.io/postgres-adapter's PubSubClient lacks scheduleReconnection/initClient (pinned: ${PINNED_ADAPTER_VERSION})`,
    );
  const schedule = client.scheduleReconnection.bind(client);
  const init = client.initClient.bind(client);
  let pending = false;
  client.scheduleReconnection = () => {
    if (pending) return;
    pending = true;
    schedule();
  };
  client.initClient = () => {
    pending = false;
    return init();
  };
}

/** Ends a pg client's socket at once: `end()` would wait for a peer that may never answer. */
function destroyConnection(client: pg.PoolClient, reason: string): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(e?: Error): void } } })
    .connection?.stream;
  stream?.destroy(new Error(reason));
}

export function createCluster(options: ClusterOptions): Cluster {
  checkAdapterInternals();
  const log = options.logger.child({ module: "cluster" });
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 6,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    // A publish on a connection that went silent would otherwise wait for TCP keepalive (many
    // minutes); failed, its client is dropped from the pool and the next publish gets a new one.
    query_timeout: 5_000,
    application_name: `tkr-cluster:${options.nodeId}`,
  });
  pool.on("error", (err) =>
    log.warn({ err: { message: err.message } }, "idle cluster client failed"),
  );
  const checkedOut = new Set<pg.PoolClient>();
  pool.on("acquire", (client) => checkedOut.add(client));
  pool.on("release", (_err, client) => checkedOut.delete(client as pg.PoolClient));
  pool.on("connect", (client) => {
    // Upstream bug (0.5.0, `PubSubClient.initClient`): the LISTEN client it checks out for good
    // gets no 'error' handler, so a dropped connection is an unhandled 'error' that kills the
    // process.
    client.on("error", (err) => {
      options.metrics.clusterErrors.inc();
      log.warn({ err: { message: err.message } }, "cluster connection failed");
    });
    // Upstream bug (0.5.0, `PubSubClient.initClient`'s 'end' handler): when that connection ends
    // the adapter takes a new client but never releases the dead one, leaking a pool slot per
    // drop (and making pool.end() wait forever). Release it here.
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

  // The adapter's PubSubClient is shared by all namespaces and only reachable through one. No
  // upstream readiness signal exists (0.5.0 exposes no listener state): `client` is polled.
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

  // Upstream gap (0.5.0): nothing notices a LISTEN connection that went silent, since the
  // adapter never queries it again. Re-issuing a LISTEN the connection already holds is a no-op round trip that keeps
  // pg_stat_activity's `query` column at "LISTEN …", so the listener stays easy to find there.
  let probing: object | undefined;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  const probeMs = options.probeMs ?? 10_000;
  const probe =
    probeMs > 0
      ? setInterval(() => {
          const client = pubsub?.client;
          const channel = pubsub?.channels?.values().next().value;
          if (probing || !client || channel === undefined) return;
          const current = {};
          probing = current;
          let answered = false;
          const timer = setTimeout(() => {
            if (answered || pubsub?.client !== client) return;
            options.metrics.clusterErrors.inc();
            log.warn(
              { timeoutMs: probeTimeoutMs },
              "cluster listener did not answer; reconnecting",
            );
            probing = undefined;
            destroyConnection(client, "cluster listener probe timed out");
          }, probeTimeoutMs);
          timer.unref();
          client
            .query(`LISTEN "${channel}"`)
            .catch(() => {
              // The 'error'/'end' handlers above report and replace a failed connection.
            })
            .finally(() => {
              answered = true;
              if (probing === current) probing = undefined;
              clearTimeout(timer);
            });
        }, probeMs)
      : undefined;
  probe?.unref();

  // A plain function, not an arrow: Socket.IO calls the adapter factory with `new`.
  const wrapped = function wrappedAdapter(nsp: unknown) {
    const instance = adapter(nsp);
    if (!pubsub) {
      pubsub = (instance as unknown as { client: PubSubLike }).client;
      guardReconnection(pubsub);
    }
    return instance;
  } as typeof adapter;

  return {
    adapter: wrapped,
    pool,
    // The polled state, so /readyz and tkr_cluster_listener_up always agree.
    listening: () => up,
    onListenerRestored(callback) {
      restoredCallbacks.push(callback);
    },
    async close() {
      clearInterval(poll);
      clearInterval(probe);
      if (pubsub) {
        // Upstream bug (0.5.0, `PubSubClient.close` does not cancel a reconnection): io.close()
        // has closed the adapter; a connect that was in flight then would otherwise fail
        // against the ended pool and reschedule itself every 1–3 s for good.
        pubsub.scheduleReconnection = () => {};
        pubsub.close();
      }
      // A LISTEN client acquired after the adapter closed is never released: bound the wait.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        pool.end().catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 2_000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
