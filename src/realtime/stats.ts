/**
 * The JSON counters of `/metrics/socket`. A connection counts as a reconnection when the same
 * principal, in the same namespace, lost a connection to this node without asking to (transport
 * closed or errored, ping timeout, server shutdown) within `RECONNECT_WINDOW_MS` before it.
 */
import type { Metrics } from "../observability/metrics.js";

export const RECONNECT_WINDOW_MS = 5 * 60_000;
const MAX_TRACKED = 100_000;

/** Disconnect reasons the client did not ask for. */
const ABNORMAL = new Set([
  "transport close",
  "transport error",
  "ping timeout",
  "server shutting down",
]);

export class ConnectionStats {
  private lost = new Map<string, number>();

  constructor(private readonly metrics: Metrics) {}

  connected(namespace: string, principalId: string): void {
    const s = this.metrics.socket;
    s.total_connections++;
    s.active_connections++;
    s.peak_connections = Math.max(s.peak_connections, s.active_connections);
    const key = `${namespace}\u0000${principalId}`;
    const lostAt = this.lost.get(key);
    if (lostAt !== undefined) {
      this.lost.delete(key);
      if (Date.now() - lostAt <= RECONNECT_WINDOW_MS) s.reconnections++;
    }
    this.metrics.connections.inc({ namespace });
    this.metrics.connectsTotal.inc({ namespace });
  }

  disconnected(namespace: string, principalId: string, reason: string): void {
    const s = this.metrics.socket;
    s.active_connections--;
    this.metrics.connections.dec({ namespace });
    if (reason === "ping timeout") s.errors.timeout_errors++;
    else if (reason === "transport error" || reason === "transport close")
      s.errors.network_errors++;
    if (ABNORMAL.has(reason)) {
      if (this.lost.size >= MAX_TRACKED) this.prune();
      this.lost.set(`${namespace}\u0000${principalId}`, Date.now());
    }
  }

  refused(code: string): void {
    const s = this.metrics.socket;
    s.failed_connections++;
    if (code.startsWith("AUTH_") || code === "FORBIDDEN") s.errors.auth_errors++;
    // PROTOCOL.md counts only INTERNAL and UNAVAILABLE as server errors (not RATE_LIMITED).
    else if (code === "INTERNAL" || code === "UNAVAILABLE") s.errors.server_errors++;
    this.metrics.errors.inc({ code, surface: "connect" });
  }

  private prune(): void {
    const cutoff = Date.now() - RECONNECT_WINDOW_MS;
    for (const [key, at] of this.lost) if (at < cutoff) this.lost.delete(key);
    // Still full: drop the oldest half (Map keeps insertion order).
    if (this.lost.size >= MAX_TRACKED) {
      let n = this.lost.size / 2;
      for (const key of this.lost.keys()) {
        if (n-- <= 0) break;
        this.lost.delete(key);
      }
    }
  }
}
