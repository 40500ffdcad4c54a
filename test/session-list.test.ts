/**
 * `GET /v1/sessions`: the caller's sessions, most recent activity first, paged by an opaque
 * cursor (PROTOCOL.md section 8), over a real gateway.
 */
import { describe, expect, it } from "vitest";
import { sharedGateway } from "./helpers/fixture.js";

const node = sharedGateway();

interface Listed {
  id: string;
  title: string | null;
  headSeq: number;
  lastMessageAt: number | null;
  members: string[];
}
interface ListPage {
  sessions: Listed[];
  nextCursor: string | null;
}

async function get<T>(sub: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${node.url}${path}`, {
    headers: { authorization: `Bearer ${await node.token(sub, "user")}` },
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function send(sub: string, sessionId: string, id: string): Promise<void> {
  await node.gateway.messaging.sendMessage(
    { id: sub, kind: "user" },
    { id, sessionId, content: "hi", type: "text" },
  );
}

describe("GET /v1/sessions", () => {
  it("lists only the caller's sessions, newest activity first, then pages by cursor", async () => {
    const { messaging } = node.gateway;
    const carol = { id: "carol", kind: "user" as const };
    // Created in order a, b, c, d; then a message in b and one in a (a is the most recent).
    for (const id of ["l-a", "l-b", "l-c", "l-d"]) {
      await messaging.createSession(carol, { id, title: `t ${id}`, members: ["agent-x"] });
    }
    await messaging.createSession({ id: "dave", kind: "user" }, { id: "l-other" });
    await send("carol", "l-b", "l-b-1");
    await send("carol", "l-a", "l-a-1");
    await send("carol", "l-a", "l-a-2");
    // Times a second apart, so the order does not hang on which millisecond each call took.
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const { pool } = node.db;
    for (const [i, id] of ["l-a", "l-b", "l-c", "l-d"].entries()) {
      await pool.query("update sessions set created_at = $2 where id = $1", [id, at(i)]);
    }
    await pool.query("update messages set created_at = $1 where id = 'l-b-1'", [at(10)]);
    await pool.query("update messages set created_at = $1 where id = 'l-a-1'", [at(11)]);
    await pool.query("update messages set created_at = $1 where id = 'l-a-2'", [at(12)]);

    const all = await get<ListPage>("carol", "/v1/sessions");
    expect(all.status).toBe(200);
    expect(all.body.sessions.map((s) => s.id)).toEqual(["l-a", "l-b", "l-d", "l-c"]);
    expect(all.body.nextCursor).toBeNull();
    const [a, , d] = all.body.sessions;
    expect(a).toMatchObject({
      id: "l-a",
      title: "t l-a",
      headSeq: 2,
      members: ["agent-x", "carol"],
    });
    expect(a?.lastMessageAt).toBe(Date.parse(at(12)));
    expect(d).toMatchObject({ id: "l-d", headSeq: 0, lastMessageAt: null });

    const seen: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await get<ListPage>("carol", `/v1/sessions?limit=3${query}`);
      expect(page.status).toBe(200);
      seen.push(page.body.sessions.map((s) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([["l-a", "l-b", "l-d"], ["l-c"]]);

    const dave = await get<ListPage>("dave", "/v1/sessions");
    expect(dave.body.sessions.map((s) => s.id)).toEqual(["l-other"]);
  });

  it("refuses a cursor it did not make, and a limit out of range", async () => {
    for (const query of ["?cursor=not-a-cursor", "?cursor=WzEsMl0", "?limit=0", "?limit=101"]) {
      const res = await get<{ error: { code: string } }>("carol", `/v1/sessions${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_PAYLOAD");
    }
  });
});
