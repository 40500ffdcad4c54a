/**
 * Stream test parts: what a socket receives of streams, in order, and the calls that open,
 * write and end one.
 */
import type { Socket } from "socket.io-client";
import { expect } from "vitest";
import type {
  StoredMessage,
  StreamAbortEvent,
  StreamDeltaEvent,
  StreamStartEvent,
} from "../../src/protocol/index.js";
import { call, waitFor } from "./gateway.js";

export type Seen =
  | { event: "stream:start"; payload: StreamStartEvent }
  | { event: "stream:delta"; payload: StreamDeltaEvent }
  | { event: "stream:abort"; payload: StreamAbortEvent }
  | { event: "message"; payload: StoredMessage };

/** Every stream event and message the socket receives, in arrival order. */
export function streamEvents(socket: Socket): Seen[] {
  const seen: Seen[] = [];
  for (const event of ["stream:start", "stream:delta", "stream:abort", "message"] as const) {
    socket.on(event, (payload: unknown) => {
      seen.push({ event, payload } as Seen);
    });
  }
  return seen;
}

export const deltasOf = (seen: Seen[], id: string): string[] =>
  seen.flatMap((s) => (s.event === "stream:delta" && s.payload.id === id ? [s.payload.delta] : []));

export const eventsOf = (seen: Seen[], id: string): string[] =>
  seen.filter((s) => s.payload.id === id).map((s) => s.event);

/** Waits until the socket has received `event` for stream `id`. */
export async function received(seen: Seen[], event: Seen["event"], id: string, n = 1) {
  await waitFor(
    () => seen.filter((s) => s.event === event && s.payload.id === id).length >= n,
    5_000,
    `${event} for ${id}`,
  );
}

export async function joined(sessionId: string, ...sockets: Socket[]) {
  for (const socket of sockets) {
    expect(await call(socket, "join_session", { sessionId })).toMatchObject({ status: "success" });
  }
}

/** Opens a stream and sends `deltas` (acked one by one). */
export async function streamText(
  socket: Socket,
  sessionId: string,
  id: string,
  deltas: string[],
  start: Record<string, unknown> = {},
) {
  expect(await call(socket, "stream:start", { id, sessionId, ...start })).toMatchObject({
    status: "success",
    id,
  });
  for (const [index, delta] of deltas.entries()) {
    expect(await call(socket, "stream:delta", { id, sessionId, index, delta })).toEqual({
      status: "success",
      id,
      index,
    });
  }
}
