/**
 * An in-memory cluster for unit tests, as socket.io tests its cluster adapters: every node's
 * bus publishes to the others in one process, in publish order, like NOTIFYs committed one after
 * another. A test can hold publishes (to see what waits behind them) and drop batches (a lost
 * NOTIFY).
 */
import type { ClusterBus, FanoutBatch } from "./bus.js";

export interface MemoryNetwork {
  /** A new node's bus. */
  bus(): ClusterBus;
  /** Every batch published so far, in order, with the node index that sent it. */
  readonly published: Array<{ from: number; batch: FanoutBatch }>;
  /** Publishes started and not yet finished. */
  readonly inFlight: number;
  /** The highest number of publishes that were in flight at once. */
  readonly maxInFlight: number;
  /** While held, publishes wait until `release()`. */
  hold(): void;
  release(): void;
  /** Batches for which this returns true are published but reach nobody. */
  drop(predicate: (batch: FanoutBatch) => boolean): void;
}

export function createMemoryNetwork(): MemoryNetwork {
  const handlers: Array<((batch: FanoutBatch) => void) | undefined> = [];
  const published: Array<{ from: number; batch: FanoutBatch }> = [];
  let held: Promise<void> | undefined;
  let unhold: (() => void) | undefined;
  let dropping: (batch: FanoutBatch) => boolean = () => false;
  let inFlight = 0;
  let maxInFlight = 0;

  return {
    bus() {
      const index = handlers.length;
      handlers.push(undefined);
      return {
        async publish(batch) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            if (held) await held;
            // A copy, as the wire would make: a receiver never shares the sender's objects.
            const sent = structuredClone(batch);
            published.push({ from: index, batch: sent });
            if (!dropping(sent)) {
              handlers.forEach((handler, i) => {
                if (i !== index) handler?.(structuredClone(sent));
              });
            }
            return true;
          } finally {
            inFlight--;
          }
        },
        subscribe(handler) {
          handlers[index] = handler;
        },
      };
    },
    published,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    hold() {
      held ??= new Promise((resolve) => {
        unhold = resolve;
      });
    },
    release() {
      held = undefined;
      unhold?.();
    },
    drop(predicate) {
      dropping = predicate;
    },
  };
}
