/**
 * Identity is (kind, sub): once a sub is seen as one kind, a token of the other kind for that sub
 * is refused with AUTH_INVALID on every surface, and the display name follows the newest token.
 */
import { describe, expect, it } from "vitest";
import { createPrincipalRegistry } from "../src/auth/principals.js";
import { createServerlessApp } from "../src/serverless/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { connect, TEST_SECRET } from "./helpers/gateway.js";

const node = sharedGateway({ sockets: "per-file" });

const sign = (sub: string, kind: "agent" | "user", name?: string) =>
  node.gateway.tokens.sign({ sub, kind, name });

async function row(id: string) {
  const found = await node.db.pool.query<{ kind: string; name: string }>(
    "select kind, name from principals where id = $1",
    [id],
  );
  return found.rows[0];
}

async function connectError(namespace: string, token: string) {
  const err = (await connect(node.url, namespace, { token }).then(
    () => ({}),
    (e: unknown) => e,
  )) as { data?: { code: string } };
  return err.data?.code;
}

function api(path: string, token: string, init: RequestInit = {}) {
  return fetch(`${node.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
}

describe("principals", () => {
  it("refuses an agent token for a user's sub at the Socket.IO handshake", async () => {
    await connect(node.url, "/clients", { token: await sign("alice-ws", "user") });
    expect(await row("alice-ws")).toEqual({ kind: "user", name: "alice-ws" });
    expect(await connectError("/agents", await sign("alice-ws", "agent"))).toBe("AUTH_INVALID");
    // The recorded kind still connects.
    await connect(node.url, "/clients", { token: await sign("alice-ws", "user") });
  });

  it("refuses a token of the other kind on the HTTP API, and the session stays the user's", async () => {
    const user = await sign("alice-http", "user");
    const created = await api("/v1/sessions", user, { method: "POST", body: "{}" });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const impostor = await sign("alice-http", "agent");
    for (const [path, init] of [
      [`/v1/sessions/${id}`, {}],
      [`/v1/sessions/${id}/messages`, {}],
      [
        `/v1/sessions/${id}/messages`,
        { method: "POST", body: JSON.stringify({ id: "m-1", content: "hi", type: "text" }) },
      ],
      [`/v1/sessions/${id}/members/bob`, { method: "DELETE" }],
    ] as const) {
      const res = await api(path, impostor, init);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "AUTH_INVALID" } });
    }
    const read = await api(`/v1/sessions/${id}/messages`, user);
    expect(await read.json()).toMatchObject({ messages: [] });
  });

  it("refuses to issue a dev token whose kind disagrees with the recorded one", async () => {
    const issue = (kind: string) =>
      fetch(`${node.url}/v1/dev/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sub: "carol-dev", kind }),
      });
    expect((await issue("agent")).status).toBe(200);
    const refused = await issue("user");
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "AUTH_INVALID" } });
    expect(await row("carol-dev")).toEqual({ kind: "agent", name: "carol-dev" });
  });

  it("records the display name from the name claim and follows the newest one", async () => {
    await api("/v1/sessions/none", await sign("dana", "user", "Dana"));
    expect(await row("dana")).toEqual({ kind: "user", name: "Dana" });
    await api("/v1/sessions/none", await sign("dana", "user", "Dana B."));
    expect(await row("dana")).toEqual({ kind: "user", name: "Dana B." });
    // A token without a name says nothing about it.
    await api("/v1/sessions/none", await sign("dana", "user"));
    expect(await row("dana")).toEqual({ kind: "user", name: "Dana B." });
  });

  it("takes a token's name again when another node recorded a newer one meanwhile", async () => {
    const pool = node.db.pool;
    const nodeX = createPrincipalRegistry({ pool, nameRecheckMs: 0 });
    const nodeY = createPrincipalRegistry({ pool });
    expect(await nodeX.admit({ id: "gail", kind: "user", name: "Gail" })).toBe("Gail");
    expect(await nodeY.admit({ id: "gail", kind: "user", name: "Gail B." })).toBe("Gail B.");
    // Node X remembers "Gail", but the newest token says "Gail" after "Gail B.": it wins.
    expect(await nodeX.admit({ id: "gail", kind: "user", name: "Gail" })).toBe("Gail");
    expect(await row("gail")).toEqual({ kind: "user", name: "Gail" });
    expect(nodeX.nameOf("gail")).toBe("Gail");
    // Node Y still goes by what it remembers: a token without a name costs no query.
    expect(await nodeY.admit({ id: "gail", kind: "user" })).toBe("Gail B.");
  });

  it("asks the database once per principal per node", async () => {
    const token = await sign("erin", "agent");
    expect((await api("/v1/sessions/none", token)).status).toBe(404);
    expect(await row("erin")).toEqual({ kind: "agent", name: "erin" });
    await node.db.pool.query("delete from principals where id = 'erin'");
    // Known to this node: verified from memory, so nothing is written again.
    expect((await api("/v1/sessions/none", token)).status).toBe(404);
    expect(await row("erin")).toBeUndefined();
  });

  it("refuses a token of the other kind in the serverless app", async () => {
    await connect(node.url, "/agents", { token: await sign("frank-fn", "agent") });
    const app = createServerlessApp({
      DATABASE_URL: node.db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "silent",
    });
    try {
      const res = await app.fetch(
        new Request("http://fn/v1/sessions/none", {
          headers: { authorization: `Bearer ${await sign("frank-fn", "user")}` },
        }),
      );
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "AUTH_INVALID" } });
    } finally {
      await app.close();
    }
  });
});
