/**
 * The wire protocol of `@socket.io/postgres-adapter` 0.5.0 (over `socket.io-adapter` 2.5's
 * `ClusterAdapter`), as far as the gateway speaks it itself: a process without a Socket.IO server
 * reaching every node (notify.ts), and a node's fan-out batches (adapter-bus.ts):
 *
 * - Each namespace listens on channel `${channelPrefix}#${nsp}` (`socket.io#/`, `socket.io#/agents`).
 * - A NOTIFY payload is a JSON cluster message `{ uid, nsp, type, data }`. A node ignores messages
 *   carrying its own adapter's uid; `"emitter"` is the uid reserved for processes that are not
 *   nodes (they are not counted as cluster members either).
 * - A message whose JSON is longer than the threshold (in bytes) is msgpack-encoded into a row of
 *   `socket_io_attachments`, and the NOTIFY carries only `{ uid, type, attachmentId }`; receivers
 *   read the row and decode it.
 *
 * The numbers below are `socket.io-adapter`'s `MessageType` enum.
 */

/** `MessageType` values used here (socket.io-adapter/dist/cluster-adapter.js). */
export const MessageType = {
  SOCKETS_LEAVE: 5,
  SERVER_SIDE_EMIT: 9,
} as const;

/** The uid that nodes treat as "not a node": never theirs, never counted. */
export const EMITTER_UID = "emitter";

/** The adapter's defaults, which the gateway nodes keep. */
export const DEFAULT_CHANNEL_PREFIX = "socket.io";
export const ATTACHMENTS_TABLE = "socket_io_attachments";

export interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data: unknown;
}

export function channelFor(nsp: string, channelPrefix = DEFAULT_CHANNEL_PREFIX): string {
  return `${channelPrefix}#${nsp}`;
}

/** `io.serverSideEmit(event, ...args)` without an ack, as another node would publish it. */
export function serverSideEmit(event: string, ...args: unknown[]): ClusterMessage {
  return {
    uid: EMITTER_UID,
    nsp: "/",
    type: MessageType.SERVER_SIDE_EMIT,
    data: { packet: [event, ...args] },
  };
}

/** `io.of(nsp).in(fromRoom).socketsLeave(room)` on every node. */
export function socketsLeave(nsp: string, fromRoom: string, room: string): ClusterMessage {
  return {
    uid: EMITTER_UID,
    nsp,
    type: MessageType.SOCKETS_LEAVE,
    data: { opts: { rooms: [fromRoom], except: [] }, rooms: [room] },
  };
}

/** The NOTIFY payload that points at an attachment row. */
export function attachmentHeader(message: ClusterMessage, attachmentId: number | string): string {
  return JSON.stringify({ uid: message.uid, type: message.type, attachmentId });
}
