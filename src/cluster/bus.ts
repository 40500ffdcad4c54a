/**
 * What the realtime server and the serverless publisher share about reaching other nodes: the
 * inter-node batch, the event it travels as, and the bus it travels on. Realtime's bus is the
 * Socket.IO adapter (adapter-bus.ts), serverless's is raw NOTIFY (notify.ts), tests use memory.
 */
import type {
  ContextUpdateEvent,
  MembershipChange,
  ReceiptEvent,
  SessionHead,
  StoredMessage,
  StreamRelay,
  TypingEvent,
} from "../protocol/index.js";
import type { PresenceWire } from "./presence.js";

/** The server-side emit that carries a batch (`io.serverSideEmit(FANOUT_EVENT, batch)`). */
export const FANOUT_EVENT = "tkr:fanout";

/** One inter-node batch. */
export interface FanoutBatch {
  messages?: StoredMessage[];
  contexts?: ContextUpdateEvent[];
  heads?: SessionHead[];
  /** Volatile: dropped rather than queued when the bus is behind. */
  typing?: TypingEvent[];
  members?: MembershipChange[];
  /** Stream events, in order; never dropped (receivers put deltas in index order). */
  streams?: StreamRelay[];
  /** Presence changes, beats and states between nodes (presence.ts); never dropped. */
  presence?: PresenceWire[];
  /** Watermarks that moved; queued like messages (a lost one is healed by the next). */
  receipts?: ReceiptEvent[];
}

export interface ClusterBus {
  /**
   * Sends a batch to every other node. Resolves true once it is on the wire, false when it is
   * too large to send as is; rejects when the publish failed.
   */
  publish(batch: FanoutBatch): Promise<boolean>;
  /** Batches from other nodes; absent on a process that only publishes. */
  subscribe?(handler: (batch: FanoutBatch) => void): void;
}
