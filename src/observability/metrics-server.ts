/**
 * A small HTTP server for `/metrics` and `/metrics/socket` on their own port (METRICS_PORT), so
 * they stay off the public port: a scraper reaches it on the private network, the internet does
 * not. Anything else is 404.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics, SocketCounters } from "./metrics.js";

export interface MetricsServer {
  /** Listens on `host:port` (0: any free port); resolves to the port. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createMetricsServer(
  metrics: Metrics,
  socketCounters?: () => SocketCounters,
): MetricsServer {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (req.method === "GET" && path === "/metrics/socket" && socketCounters) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(socketCounters()));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
