/**
 * The Workers build of the HTTP API, bundled and served by workerd itself (nodejs_compat, pg over
 * cloudflare:sockets), against a real Postgres and a real gateway node.
 */
import { describe, expect, it } from "vitest";
import { startWorkerd } from "../../src/edge/workerd.js";
import { Follower } from "../helpers/cluster.js";
import {
  call,
  deadPort,
  edgeEnv,
  edgeFixture,
  publishesToNodeSockets,
  refusesLikeTheNode,
  unavailableWithoutDatabase,
} from "../helpers/edge.js";
import { connect, call as socketCall, waitFor } from "../helpers/gateway.js";
import { deltasOf, received, streamEvents } from "../helpers/streams.js";

const fx = edgeFixture("worker", (script, env) =>
  startWorkerd({ script, env, port: 0, stdio: process.env.TEST_LOG_LEVEL ? "inherit" : "ignore" }),
);

describe("the API in workerd", () => {
  it("acks a message with its seq, delivers it, a 60 KB one and a context update to sockets on two gateway nodes, and answers a repeat as a duplicate", async () => {
    await publishesToNodeSockets(fx.edge.url, [fx.node, fx.other]);
  });

  it("serves concurrent requests in one isolate, each on its own pool, and every message reaches the socket", async () => {
    const token = await fx.node.token("edge-agent", "agent");
    const created = await call(fx.edge.url, "POST", "/v1/sessions", token, { members: ["alice"] });
    const sessionId = created.body?.id as string;
    const follower = await Follower.join(
      fx.node.url,
      "/clients",
      await fx.node.token("alice", "user"),
      sessionId,
    );
    const sends = Array.from({ length: 20 }, (_, i) =>
      call(fx.edge.url, "POST", `/v1/sessions/${sessionId}/messages`, token, {
        id: `c-${i}`,
        content: `concurrent ${i}`,
        type: "text",
      }),
    );
    const answers = await Promise.all(sends);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const seqs = answers.map((a) => a.body?.seq as number).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await waitFor(() => follower.live === 20, 5_000, "all 20 messages on the socket");
  });

  it("answers a bad token, a non-member and a bad payload with the node's codes and stores nothing", async () => {
    await refusesLikeTheNode(fx.edge.url, fx.node);
  });

  it("answers 503 UNAVAILABLE when Postgres cannot be reached", async () => {
    await unavailableWithoutDatabase(fx.startEdge);
  });

  it("takes its database from a Hyperdrive binding's connection string over DATABASE_URL", async () => {
    const env = edgeEnv(`postgres://postgres:postgres@127.0.0.1:${await deadPort()}/tkr`);
    const viaHyperdrive = await startWorkerd({
      script: fx.script,
      env,
      json: { HYPERDRIVE: { connectionString: fx.node.db.url } },
      port: 0,
      stdio: "ignore",
    });
    try {
      const ready = await call(viaHyperdrive.url, "GET", "/readyz", undefined);
      expect(ready.body).toMatchObject({ status: "ready" });
    } finally {
      await viaHyperdrive.close();
    }
  });

  it("relays a stream's start and deltas to a socket on a node, and stores the content its end gives", async () => {
    const token = await fx.node.token("edge-agent", "agent");
    const created = await call(fx.edge.url, "POST", "/v1/sessions", token, { members: ["alice"] });
    const sessionId = created.body?.id as string;
    const socket = await connect(fx.node.url, "/clients", {
      token: await fx.node.token("alice", "user"),
    });
    await socketCall(socket, "join_session", { sessionId });
    const seen = streamEvents(socket);
    const base = `/v1/sessions/${sessionId}/streams`;
    expect((await call(fx.edge.url, "POST", base, token, { id: "edge-s" })).status).toBe(201);
    const deltas = { deltas: [0, 1, 2].map((index) => ({ index, delta: `d${index} ` })) };
    expect((await call(fx.edge.url, "POST", `${base}/edge-s/deltas`, token, deltas)).status).toBe(
      200,
    );
    await received(seen, "stream:delta", "edge-s", 3);
    expect(deltasOf(seen, "edge-s")).toEqual(["d0 ", "d1 ", "d2 "]);
    const end = await call(fx.edge.url, "POST", `${base}/edge-s/end`, token, {
      content: "d0 d1 d2",
    });
    expect(end).toMatchObject({ status: 201, body: { id: "edge-s", duplicate: false } });
    await received(seen, "message", "edge-s");
    expect(seen.at(-1)?.payload).toMatchObject({ content: "d0 d1 d2" });
  });

  it("serves health and the OpenAPI document, and has no metrics of its own", async () => {
    expect((await call(fx.edge.url, "GET", "/healthz", undefined)).status).toBe(200);
    expect((await call(fx.edge.url, "GET", "/readyz", undefined)).body).toMatchObject({
      status: "ready",
    });
    const openapi = await call(fx.edge.url, "GET", "/openapi.json", undefined);
    expect(openapi.body).toHaveProperty("paths./v1/sessions/{id}/messages");
    expect((await call(fx.edge.url, "GET", "/metrics", undefined)).status).toBe(404);
  });
});
