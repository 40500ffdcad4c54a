/**
 * The Deno build of the HTTP API, run by the `deno` npm package's binary, passes the same smoke
 * test as the Workers build: real Postgres, a real gateway node, a socket on it.
 */
import { describe, it } from "vitest";
import { startDeno } from "../../src/edge/deno-process.js";
import {
  edgeFixture,
  publishesToNodeSockets,
  refusesLikeTheNode,
  unavailableWithoutDatabase,
} from "../helpers/edge.js";

const fx = edgeFixture("deno", (script, env) =>
  startDeno({
    script,
    env: { ...env, PORT: "0" },
    stderr: process.env.TEST_LOG_LEVEL ? "inherit" : "ignore",
  }),
);

describe("the API in Deno", () => {
  it("acks a message with its seq, delivers it, a 60 KB one and a context update to sockets on two gateway nodes, and answers a repeat as a duplicate", async () => {
    await publishesToNodeSockets(fx.edge.url, [fx.node, fx.other]);
  });

  it("answers a bad token, a non-member and a bad payload with the node's codes and stores nothing", async () => {
    await refusesLikeTheNode(fx.edge.url, fx.node);
  });

  it("answers 503 UNAVAILABLE when Postgres cannot be reached", async () => {
    await unavailableWithoutDatabase(fx.startEdge);
  });
});
