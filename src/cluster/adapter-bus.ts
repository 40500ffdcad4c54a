/**
 * The bus of a node with a Socket.IO server: batches go out through the cluster adapter and
 * come in as its server-side emits. It publishes through `publishAndReturnOffset` rather than
 * `io.serverSideEmit` because only the former says when the NOTIFY is on the wire, which is
 * what keeps one batch in flight at a time (fanout.ts).
 */
import { type ClusterBus, FANOUT_EVENT, type FanoutBatch } from "./bus.js";
import { MessageType } from "./wire.js";

export interface AdapterBusOptions {
  /** The root namespace's adapter (`io.of("/").adapter`). */
  adapter: unknown;
  /** `io.serverSideEmit(FANOUT_EVENT, batch)`, for an adapter that cannot say when it is sent. */
  serverSideEmit(batch: FanoutBatch): void;
  /** `io.on(FANOUT_EVENT, handler)`. */
  onServerSideEmit(handler: (batch: FanoutBatch) => void): void;
}

export function createAdapterBus(options: AdapterBusOptions): ClusterBus {
  const adapter = options.adapter as {
    publishAndReturnOffset?: (message: unknown) => Promise<unknown>;
  };
  return {
    async publish(batch) {
      if (!adapter.publishAndReturnOffset) {
        options.serverSideEmit(batch);
        return true;
      }
      await adapter.publishAndReturnOffset({
        type: MessageType.SERVER_SIDE_EMIT,
        data: { packet: [FANOUT_EVENT, batch] },
      });
      return true;
    },
    subscribe: (handler) => options.onServerSideEmit(handler),
  };
}
