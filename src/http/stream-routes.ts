/**
 * The stream routes (PROTOCOL.md "Streams", HTTP): a stream for callers without a socket, such
 * as serverless agents. Each route is one call of the streams service the app was given: a
 * node's (every open stream in memory) or a function's (nothing kept between calls).
 */
import type { Streams } from "../messaging/index.js";
import {
  AppendResult,
  Id,
  StreamAbortBody,
  StreamAbortResult,
  StreamDeltaResult,
  StreamDeltasBody,
  StreamEndBody,
  StreamStartBody,
  StreamStartResult,
} from "../protocol/index.js";
import { defineRoute, type RouteRegistry } from "./api-route.js";

type Add = (route: Parameters<RouteRegistry["register"]>[2]) => void;

const sessionId = { schema: Id, what: "session id" };
const streamId = { schema: Id, what: "stream id" };

export function addStreamRoutes(add: Add, streams: Streams): void {
  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/streams",
      summary: "Open a stream: its events reach the session's sockets as it is written",
      params: { id: sessionId },
      body: StreamStartBody,
      responses: {
        201: { description: "opened", schema: StreamStartResult },
        200: {
          description: "its id is already stored: the message's ack",
          schema: StreamStartResult,
        },
      },
      async handler(c, { params, body }) {
        const result = await streams.start(c.get("principal"), { ...body, sessionId: params.id });
        return c.json(result, result.duplicate ? 200 : 201);
      },
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/streams/:streamId/deltas",
      summary: "Append one delta ({ index, delta }) or several ({ deltas: [...] }) to a stream",
      params: { id: sessionId, streamId },
      body: StreamDeltasBody,
      responses: { 200: { description: "relayed", schema: StreamDeltaResult } },
      async handler(c, { params, body }) {
        const deltas = "deltas" in body ? body.deltas : [body];
        return c.json(await streams.deltas(c.get("principal"), params.id, params.streamId, deltas));
      },
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/streams/:streamId/end",
      summary: "End a stream: store its text (or content) as the message with its id",
      params: { id: sessionId, streamId },
      body: StreamEndBody,
      responses: {
        201: { description: "stored", schema: AppendResult },
        200: { description: "already stored", schema: AppendResult },
      },
      async handler(c, { params, body }) {
        const result = await streams.end(c.get("principal"), {
          ...body,
          id: params.streamId,
          sessionId: params.id,
        });
        return c.json(result, result.duplicate ? 200 : 201);
      },
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/streams/:streamId/abort",
      summary: "Abort a stream: nothing is stored",
      params: { id: sessionId, streamId },
      body: StreamAbortBody,
      responses: { 200: { description: "aborted", schema: StreamAbortResult } },
      async handler(c, { params, body }) {
        return c.json(
          await streams.abort(c.get("principal"), {
            ...body,
            id: params.streamId,
            sessionId: params.id,
          }),
        );
      },
    }),
  );
}
