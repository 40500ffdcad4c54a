/**
 * Targeted and expiring contexts (PROTOCOL.md section 4, `context:update` `targets` and
 * `ttlSeconds`): only the targets and the updater get and read one, an expired one is gone from
 * every read at once, and the sweep deletes its rows.
 */
import { describe, expect, it } from "vitest";
import type { Context } from "../src/protocol/index.js";
import { MAX_CONTEXT_TTL_SECONDS } from "../src/protocol/index.js";
import {
  connectAgent,
  connectUser,
  createSession,
  httpAs,
  sharedGateway,
} from "./helpers/fixture.js";
import { call, flushed, waitFor } from "./helpers/gateway.js";
import { clientFactory, record } from "./sdk-fixtures.js";

// The sweep runs often here, so a test can wait for it rather than call it.
const node = sharedGateway({ env: { CONTEXT_SWEEP_INTERVAL_MS: "200" } });
const client = clientFactory();

type Contexts = { status: string; contexts: Context[] };

const http = (method: string, path: string, sub: string, kind: string, body?: unknown) =>
  httpAs(node, sub, kind as "agent" | "user", method, path, body);

/** Moves a context past its expiry, as the clock would after its ttl, without waiting for it. */
async function expire(sessionId: string, contextId: string) {
  await node.db.pool.query(
    "update contexts set expires_at = now() - interval '1 second' where session_id = $1 and context_id = $2",
    [sessionId, contextId],
  );
}

describe("targeted contexts", () => {
  it("go only to their targets and the updater, live and on every read; others get NOT_FOUND", async () => {
    const session = await createSession(node, "t-carol", ["t-a", "t-b", "t-dave"]);
    const updater = await connectAgent(node, "t-a");
    const updaterOther = await connectAgent(node, "t-a");
    const target = await connectAgent(node, "t-b");
    const carol = await connectUser(node, "t-carol");
    const dave = await connectAgent(node, "t-dave");
    const listeners = [updaterOther, target, carol, dave];
    for (const s of [updater, ...listeners])
      await call(s, "join_session", { sessionId: session.id });
    const got = new Map(
      listeners.map((s) => {
        const list: Context[] = [];
        s.on("context:update", (c: Context) => list.push(c));
        return [s, list];
      }),
    );

    const ack = await call(updater, "context:update", {
      sessionId: session.id,
      contextId: "secret-plan",
      contextData: { step: 1 },
      targets: ["t-b"],
    });
    expect(ack).toMatchObject({ status: "success", version: 1 });
    await flushed(...listeners);
    for (const s of [updaterOther, target]) {
      expect(got.get(s)).toEqual([
        expect.objectContaining({ contextId: "secret-plan", targets: ["t-b"], version: 1 }),
      ]);
    }
    for (const s of [carol, dave]) expect(got.get(s)).toEqual([]);

    // Reads: the list leaves it out, a single read is NOT_FOUND, as for a context never written.
    const list = (s: typeof carol) => call<Contexts>(s, "context:get", { sessionId: session.id });
    expect((await list(target)).contexts.map((c) => c.contextId)).toEqual(["secret-plan"]);
    expect((await list(updater)).contexts[0]).toMatchObject({ targets: ["t-b"] });
    expect((await list(carol)).contexts).toEqual([]);
    expect(
      await call(dave, "context:get", { sessionId: session.id, contextId: "secret-plan" }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    const path = `/v1/sessions/${session.id}/contexts`;
    expect(await http("GET", `${path}/secret-plan`, "t-carol", "user")).toMatchObject({
      status: 404,
      body: { error: { code: "NOT_FOUND" } },
    });
    expect(await http("GET", path, "t-carol", "user")).toMatchObject({ body: { contexts: [] } });
    expect(await http("GET", `${path}/secret-plan`, "t-b", "agent")).toMatchObject({
      status: 200,
      body: { targets: ["t-b"], contextData: { step: 1 } },
    });
  });

  it("an update without targets makes the context everyone's again", async () => {
    const session = await createSession(node, "u-carol", ["u-a", "u-b"]);
    const path = `/v1/sessions/${session.id}/contexts/plan`;
    const first = await http("PUT", path, "u-a", "agent", {
      contextData: { v: 1 },
      targets: ["u-b"],
    });
    expect(first).toMatchObject({ status: 200, body: { version: 1 } });
    expect((await http("GET", path, "u-carol", "user")).status).toBe(404);
    const second = await http("PUT", path, "u-b", "agent", {
      contextData: { v: 2 },
      expectedVersion: 1,
    });
    expect(second).toMatchObject({ status: 200, body: { version: 2 } });
    const read = await http("GET", path, "u-carol", "user");
    expect(read).toMatchObject({ status: 200, body: { version: 2, contextData: { v: 2 } } });
    expect(read.body.targets).toBeUndefined();
  });

  it("refuse targets that are not members, and bad ttlSeconds, changing nothing", async () => {
    const session = await createSession(node, "v-carol", ["v-a"]);
    const a = await connectAgent(node, "v-a");
    const base = { sessionId: session.id, contextId: "plan", contextData: { x: 1 } };
    const outsider = await call(a, "context:update", { ...base, targets: ["v-a", "stranger"] });
    expect(outsider).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    expect(String(outsider.message)).toContain("stranger");
    for (const ttlSeconds of [0, -1, 1.5, MAX_CONTEXT_TTL_SECONDS + 1, "60"]) {
      expect(await call(a, "context:update", { ...base, ttlSeconds })).toMatchObject({
        status: "error",
        code: "INVALID_PAYLOAD",
      });
    }
    expect(await call(a, "context:update", { ...base, targets: [] })).toMatchObject({
      code: "INVALID_PAYLOAD",
    });
    const put = await http("PUT", `/v1/sessions/${session.id}/contexts/plan`, "v-a", "agent", {
      contextData: {},
      targets: ["stranger"],
    });
    expect(put).toMatchObject({ status: 400, body: { error: { code: "INVALID_PAYLOAD" } } });
    const rows = await node.db.pool.query("select 1 from contexts where session_id = $1", [
      session.id,
    ]);
    expect(rows.rowCount).toBe(0);
  });
});

describe("expiring contexts", () => {
  it("written again after expiry reach an SDK client that saw the old one", async () => {
    const session = await createSession(node, "k-carol", ["k-a"]);
    const carol = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("k-carol", "user"),
    });
    const saw = record(carol);
    await carol.joinSession(session.id);
    const a = await connectAgent(node, "k-a");
    const write = (contextData: Record<string, unknown>) =>
      call(a, "context:update", {
        sessionId: session.id,
        contextId: "brief",
        contextData,
        ttlSeconds: 1,
      });
    expect(await write({ n: 1 })).toMatchObject({ version: 1 });
    await waitFor(() => saw.contexts.length === 1, 5_000, "the first version");
    // Its real second runs out (the client knows only the expiresAt it was given).
    await waitFor(
      async () =>
        (await call<Contexts>(a, "context:get", { sessionId: session.id })).contexts.length === 0,
      5_000,
      "the expiry",
    );
    expect(await write({ n: 2 })).toMatchObject({ version: 1 });
    await waitFor(() => saw.contexts.length === 2, 5_000, "the context written again");
    expect(saw.contexts.map((c) => [c.version, c.contextData])).toEqual([
      [1, { n: 1 }],
      [1, { n: 2 }],
    ]);
  });

  it("carry expiresAt, are not returned once expired, and start again at version 1", async () => {
    const session = await createSession(node, "e-carol", ["e-a"]);
    const a = await connectAgent(node, "e-a");
    const carol = await connectUser(node, "e-carol");
    await call(carol, "join_session", { sessionId: session.id });
    const live = new Promise<Context>((resolve) => carol.once("context:update", resolve));
    const before = Date.now();
    const ack = await call(a, "context:update", {
      sessionId: session.id,
      contextId: "brief",
      contextData: { ok: true },
      ttlSeconds: 60,
    });
    expect(ack).toMatchObject({ status: "success", version: 1 });
    const broadcast = await live;
    expect(broadcast.expiresAt).toBeGreaterThanOrEqual(before + 59_000);
    expect(broadcast.expiresAt).toBeLessThanOrEqual(Date.now() + 61_000);
    const read = await call<Contexts>(carol, "context:get", { sessionId: session.id });
    expect(read.contexts[0]?.expiresAt).toBe(broadcast.expiresAt);

    await expire(session.id, "brief");
    expect(await call<Contexts>(carol, "context:get", { sessionId: session.id })).toMatchObject({
      contexts: [],
    });
    expect(
      await call(carol, "context:get", { sessionId: session.id, contextId: "brief" }),
    ).toMatchObject({ status: "error", code: "NOT_FOUND" });
    expect(
      (await http("GET", `/v1/sessions/${session.id}/contexts/brief`, "e-carol", "user")).status,
    ).toBe(404);

    // Gone means gone for writers too: the version it had is stale, and it starts afresh.
    const stale = await call(a, "context:update", {
      sessionId: session.id,
      contextId: "brief",
      contextData: { ok: false },
      expectedVersion: 1,
    });
    expect(stale).toMatchObject({ status: "error", code: "CONFLICT" });
    expect(String(stale.message)).toContain("current version of brief is 0");
    const again = await call(a, "context:update", {
      sessionId: session.id,
      contextId: "brief",
      contextData: { ok: "again" },
      expectedVersion: 0,
    });
    expect(again).toMatchObject({ status: "success", version: 1 });
    const fresh = await call<Contexts>(carol, "context:get", { sessionId: session.id });
    expect(fresh.contexts).toEqual([
      expect.objectContaining({ contextData: { ok: "again" }, version: 1 }),
    ]);
    expect(fresh.contexts[0]?.expiresAt).toBeUndefined();
    const history = await node.db.pool.query(
      "select version from context_versions where session_id = $1 and context_id = 'brief'",
      [session.id],
    );
    expect(history.rows).toEqual([{ version: 1 }]);
  });

  it("are deleted by the gateway's periodic sweep, history included, and only once expired", async () => {
    const session = await createSession(node, "s-carol", ["s-a"]);
    const a = await connectAgent(node, "s-a");
    for (const [contextId, ttlSeconds] of [
      ["gone", 60],
      ["kept", 60],
      ["forever", undefined],
    ] as const) {
      await call(a, "context:update", {
        sessionId: session.id,
        contextId,
        contextData: {},
        ...(ttlSeconds ? { ttlSeconds } : {}),
      });
    }
    await expire(session.id, "gone");
    const rows = async (table: string) =>
      (
        await node.db.pool.query<{ context_id: string }>(
          `select context_id from ${table} where session_id = $1 order by context_id`,
          [session.id],
        )
      ).rows.map((r) => r.context_id);
    await waitFor(async () => !(await rows("contexts")).includes("gone"), 5_000, "the sweep");
    expect(await rows("contexts")).toEqual(["forever", "kept"]);
    expect(await rows("context_versions")).toEqual(["forever", "kept"]);
  });
});
