/**
 * Publishing for processes without a Socket.IO server (serverless and edge functions, scripts):
 * the postgres adapter's protocol (wire.ts) spoken on an ordinary pool, so the gateway nodes
 * treat what is sent exactly like a batch from another node. Nothing here retries or loops,
 * whatever the database does: a failed publish rejects once.
 */
import { type ClusterBus, FANOUT_EVENT } from "./bus.js";
import {
  ATTACHMENTS_TABLE,
  attachmentHeader,
  type ClusterMessage,
  channelFor,
  DEFAULT_CHANNEL_PREFIX,
  serverSideEmit,
} from "./wire.js";

/** What the bus needs from a pool: `pg.Pool` fits. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Turns a message into msgpack bytes; absent when `@msgpack/msgpack` cannot be loaded. */
export type Encode = (value: unknown) => Uint8Array;

export interface NotifyBusOptions {
  pool: Queryable;
  /**
   * Payloads longer than this many bytes go through `socket_io_attachments`. Default 7,000, as
   * on the nodes: NOTIFY refuses 8,000 bytes and more, and adapter 0.5.0 is off by one there.
   */
  payloadThreshold?: number;
  /** The adapter's channel prefix. Default `socket.io`. */
  channelPrefix?: string;
  /** msgpack encoder for attachments, or null when there is none. */
  encoder(): Promise<Encode | null>;
  /** Called after each NOTIFY that Postgres accepted. */
  onNotify?(): void;
}

export interface NotifyBus extends ClusterBus {
  /** Sends one cluster message; false when it is too large and no encoder is available. */
  send(message: ClusterMessage): Promise<boolean>;
}

const utf8 = new TextEncoder();

export function createNotifyBus(options: NotifyBusOptions): NotifyBus {
  const { pool } = options;
  const threshold = options.payloadThreshold ?? 7_000;
  const prefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;

  async function notify(channel: string, payload: string): Promise<void> {
    await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
    options.onNotify?.();
  }

  async function send(message: ClusterMessage): Promise<boolean> {
    const channel = channelFor(message.nsp, prefix);
    const payload = JSON.stringify(message);
    if (utf8.encode(payload).length <= threshold) {
      await notify(channel, payload);
      return true;
    }
    const encode = await options.encoder();
    if (!encode) return false;
    const inserted = await pool.query(
      `INSERT INTO ${ATTACHMENTS_TABLE} (payload) VALUES ($1) RETURNING id`,
      [encode(message)],
    );
    const id = inserted.rows[0]?.id;
    if (typeof id !== "number" && typeof id !== "string") throw new Error("no attachment id");
    await notify(channel, attachmentHeader(message, id));
    return true;
  }

  return { send, publish: (batch) => send(serverSideEmit(FANOUT_EVENT, batch)) };
}
