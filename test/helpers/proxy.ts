/**
 * A fault-injecting TCP proxy for tests: listens on 127.0.0.1:0 and forwards each connection to
 * the target port. It can cut every open connection, refuse new ones for a while, blackhole the
 * open ones (TCP stays up, no byte passes either way: what a NAT that lost the flow looks like),
 * and be pointed at another target (a restarted gateway on a new port keeps the same URL).
 */
import net from "node:net";

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: use it as the gateway URL. */
  readonly url: string;
  readonly port: number;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  /** Connections accepted (and forwarded) so far. */
  readonly accepted: number;
  /** Connections reset by `refuse` so far: proof a client tried while the link was down. */
  readonly refused: number;
  /** Destroys every open connection, both sides, at once. */
  cut(): void;
  /** New connections are reset as soon as they arrive, for `ms` (default: until `accept()`). */
  refuse(ms?: number): void;
  /** Ends `refuse`. */
  accept(): void;
  /** The open connections stay up but pass nothing from now on; new ones are unaffected. */
  blackhole(): void;
  /** New connections go to this port. */
  setTarget(port: number): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  blackholed: boolean;
}

export async function startProxy(targetPort: number): Promise<FaultProxy> {
  let target = targetPort;
  let refusing = false;
  let refuseTimer: NodeJS.Timeout | undefined;
  let accepted = 0;
  let refused = 0;
  const pairs = new Set<Pair>();

  const server = net.createServer((client) => {
    client.on("error", () => {});
    if (refusing) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = net.connect({ host: "127.0.0.1", port: target });
    upstream.on("error", () => {});
    const pair: Pair = { client, upstream, blackholed: false };
    pairs.add(pair);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
  });

  /** Like pipe, but each chunk is dropped while the pair is blackholed. */
  function forward(pair: Pair, from: net.Socket, to: net.Socket) {
    from.on("data", (chunk) => {
      if (pair.blackholed || to.destroyed) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get openConnections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    cut() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    refuse(ms) {
      refusing = true;
      clearTimeout(refuseTimer);
      if (ms !== undefined) {
        refuseTimer = setTimeout(() => {
          refusing = false;
        }, ms);
      }
    },
    accept() {
      clearTimeout(refuseTimer);
      refusing = false;
    },
    blackhole() {
      for (const pair of pairs) pair.blackholed = true;
    },
    setTarget(next) {
      target = next;
    },
    async close() {
      clearTimeout(refuseTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      await closed;
    },
  };
}
