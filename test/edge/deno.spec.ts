/**
 * The Deno build of the HTTP API, run by the `deno` npm package's binary, passes the same smoke
 * test as the Workers build: real Postgres, a real gateway node, a socket on it.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { buildEdge } from "../../src/edge/build.js";
import { startDeno } from "../../src/edge/deno-process.js";
import {
  type EdgeServer,
  edgeEnv,
  publishesToNodeSockets,
  refusesLikeTheNode,
  unavailableWithoutDatabase,
} from "../helpers/edge.js";
import { closeAllSockets, startTestGateway, type TestGateway } from "../helpers/gateway.js";

let script: string;
let node: TestGateway;
let other: TestGateway;
let edge: EdgeServer;

const startEdge = async (env: Record<string, string>): Promise<EdgeServer> =>
  startDeno({
    script,
    env: { ...env, PORT: "0" },
    stderr: process.env.TEST_LOG_LEVEL ? "inherit" : "ignore",
  });

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tkr-edge-test-"));
  script = (await buildEdge("deno", dir)).file;
  node = await startTestGateway();
  other = await startTestGateway({ db: node.db });
  edge = await startEdge(edgeEnv(node.db.url));
});
afterAll(async () => {
  await edge?.close();
  await other?.close();
  await node?.close();
});
afterEach(() => closeAllSockets());

describe("the API in Deno", () => {
  it("acks a message with its seq, delivers it, a 60 KB one and a context update to sockets on two gateway nodes, and answers a repeat as a duplicate", async () => {
    await publishesToNodeSockets(edge.url, [node, other]);
  });

  it("answers a bad token, a non-member and a bad payload with the node's codes and stores nothing", async () => {
    await refusesLikeTheNode(edge.url, node);
  });

  it("answers 503 UNAVAILABLE when Postgres cannot be reached", async () => {
    await unavailableWithoutDatabase(startEdge);
  });
});
