/**
 * Direct messages (PROTOCOL.md section 6, `visibility: "direct"`): only the sender and the
 * receiver see one, live and on every read path, and the other members' SDKs skip its seq.
 */
import type { Socket } from "socket.io-client";
import { describe, expect, it, onTestFinished } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import {
  connectAgent,
  connectUser,
  createSession,
  httpAs,
  sharedGateway,
} from "./helpers/fixture.js";
import { call, flushed, waitFor } from "./helpers/gateway.js";
import { clientFactory, record } from "./sdk-fixtures.js";

const node = sharedGateway();
const client = clientFactory();

type Page = { status: string; messages: StoredMessage[]; headSeq: number; hasMore: boolean };
const seqs = (messages: StoredMessage[]) => messages.map((m) => m.seq);

function collect(socket: Socket): StoredMessage[] {
  const got: StoredMessage[] = [];
  socket.on("message", (m: StoredMessage) => got.push(m));
  return got;
}

const http = (method: string, path: string, sub: string, kind: string, body?: unknown) =>
  httpAs(node, sub, kind as "agent" | "user", method, path, body);

/**
 * A session of user `carol` and agents `<p>-a`, `<p>-b`: seq 1 public, seq 2 direct from a to b
 * (over the socket), seq 3 public, seq 4 direct from b to a (over HTTP), seq 5 public.
 */
async function conversation(p: string) {
  const session = await createSession(node, `${p}-carol`, [`${p}-a`, `${p}-b`]);
  const a = await connectAgent(node, `${p}-a`);
  const send = (id: string, extra: Record<string, unknown> = {}) =>
    call(a, "message", { id, sessionId: session.id, content: id, type: "text", ...extra });
  await send(`${p}-1`);
  const direct = await send(`${p}-2`, { visibility: "direct", receiverId: `${p}-b` });
  expect(direct).toMatchObject({ status: "success", seq: 2 });
  await send(`${p}-3`);
  const viaHttp = await http("POST", `/v1/sessions/${session.id}/messages`, `${p}-b`, "agent", {
    id: `${p}-4`,
    content: "back",
    type: "text",
    visibility: "direct",
    receiverId: `${p}-a`,
  });
  expect(viaHttp).toMatchObject({ status: 201, body: { seq: 4 } });
  await send(`${p}-5`);
  return session.id;
}

describe("direct messages", () => {
  it("go live only to the sender's other sockets and the receiver's, in both namespaces", async () => {
    const session = await createSession(node, "lv-carol", ["lv-a", "lv-b", "lv-dave"]);
    const sender = await connectAgent(node, "lv-a");
    const senderOther = await connectAgent(node, "lv-a");
    const receiver = await connectAgent(node, "lv-b");
    const carol = await connectUser(node, "lv-carol");
    const dave = await connectAgent(node, "lv-dave");
    // The receiver's socket that has not joined the session gets nothing either.
    const receiverNotJoined = await connectAgent(node, "lv-b");
    const joined = [sender, senderOther, receiver, carol, dave];
    for (const s of joined) await call(s, "join_session", { sessionId: session.id });
    const got = new Map([...joined, receiverNotJoined].map((s) => [s, collect(s)]));
    const hidden = new Map(
      [...joined, receiverNotJoined].map((s) => {
        const seen: unknown[] = [];
        s.on("message:hidden", (h: unknown) => seen.push(h));
        return [s, seen];
      }),
    );

    const ack = await call(sender, "message", {
      id: "lv-1",
      sessionId: session.id,
      content: "just for b",
      type: "text",
      visibility: "direct",
      receiverId: "lv-b",
    });
    expect(ack).toMatchObject({ status: "success", seq: 1, duplicate: false });
    await call(sender, "message", {
      id: "lv-2",
      sessionId: session.id,
      content: "all",
      type: "text",
    });
    await flushed(...joined, receiverNotJoined);

    for (const s of [senderOther, receiver]) {
      expect(got.get(s)?.map((m) => [m.seq, m.visibility])).toEqual([
        [1, "direct"],
        [2, "session"],
      ]);
    }
    expect(got.get(receiver)?.[0]).toMatchObject({ receiverId: "lv-b", senderId: "lv-a" });
    for (const s of [carol, dave]) expect(seqs(got.get(s) ?? [])).toEqual([2]);
    expect(got.get(sender)).toEqual([]);
    expect(got.get(receiverNotJoined)).toEqual([]);
    // The others learn only that seq 1 is not for them, so they need not wait for it.
    for (const s of [carol, dave]) {
      expect(hidden.get(s)).toEqual([{ sessionId: session.id, seq: 1 }]);
    }
    for (const s of [sender, senderOther, receiver, receiverNotJoined]) {
      expect(hidden.get(s)).toEqual([]);
    }
  });

  it("are left out of the join catch-up and of sync, forwards and backwards, for the others", async () => {
    const sessionId = await conversation("rd");
    const reader = async (socket: Socket) => {
      const join = await call<Page>(socket, "join_session", { sessionId, lastSeq: 0 });
      const forwards = await call<Page>(socket, "sync", { sessionId, afterSeq: 0 });
      const backwards = await call<Page>(socket, "sync", { sessionId, beforeSeq: 6, limit: 2 });
      return {
        join: seqs(join.messages),
        forwards: seqs(forwards.messages),
        backwards: seqs(backwards.messages),
        hasMore: backwards.hasMore,
        heads: [join.headSeq, forwards.headSeq, backwards.headSeq],
      };
    };
    const all = [1, 2, 3, 4, 5];
    for (const sub of ["rd-a", "rd-b"]) {
      expect(await reader(await connectAgent(node, sub))).toEqual({
        join: all,
        forwards: all,
        backwards: [4, 5],
        hasMore: true,
        heads: [5, 5, 5],
      });
    }
    // The others' pages have gaps; headSeq still says where the session stands.
    expect(await reader(await connectUser(node, "rd-carol"))).toEqual({
      join: [1, 3, 5],
      forwards: [1, 3, 5],
      backwards: [3, 5],
      hasMore: true,
      heads: [5, 5, 5],
    });
  });

  it("are left out of HTTP history, forwards and backwards, for the others", async () => {
    const sessionId = await conversation("hh");
    const history = async (sub: string, kind: string, query: string) => {
      const { status, body } = await http(
        "GET",
        `/v1/sessions/${sessionId}/messages?${query}`,
        sub,
        kind,
      );
      expect(status).toBe(200);
      return seqs(body.messages as StoredMessage[]);
    };
    expect(await history("hh-b", "agent", "afterSeq=0")).toEqual([1, 2, 3, 4, 5]);
    expect(await history("hh-carol", "user", "afterSeq=0")).toEqual([1, 3, 5]);
    expect(await history("hh-carol", "user", "beforeSeq=5&limit=1")).toEqual([3]);
    const stored = await http(
      "GET",
      `/v1/sessions/${sessionId}/messages?afterSeq=1&limit=1`,
      "hh-a",
      "agent",
    );
    expect(stored.body.messages).toEqual([
      expect.objectContaining({ seq: 2, visibility: "direct", receiverId: "hh-b" }),
    ]);
  });

  it("do not move the session list's last activity or unread count for the others", async () => {
    const sessionId = await conversation("sl");
    const list = async (sub: string, kind: string) => {
      const { status, body } = await http("GET", "/v1/sessions", sub, kind);
      expect(status).toBe(200);
      const sessions = body.sessions as Array<{
        id: string;
        lastMessageAt: number;
        unread: number;
      }>;
      return sessions.find((s) => s.id === sessionId);
    };
    const { rows } = await node.db.pool.query<{ seq: number; at: number }>(
      "select seq, (extract(epoch from created_at) * 1000)::bigint as at from messages where session_id = $1 order by seq",
      [sessionId],
    );
    const at = (seq: number) => rows.find((r) => r.seq === seq)?.at;
    // A direct message from a to b after the last public one: only they see the session move.
    const a = await connectAgent(node, "sl-a");
    await call(a, "message", {
      id: "sl-6",
      sessionId,
      content: "psst",
      type: "text",
      visibility: "direct",
      receiverId: "sl-b",
    });
    const { rows: last } = await node.db.pool.query<{ at: number }>(
      "select (extract(epoch from created_at) * 1000)::bigint as at from messages where id = 'sl-6'",
    );
    expect(await list("sl-carol", "user")).toMatchObject({ lastMessageAt: at(5), unread: 3 });
    expect(await list("sl-b", "agent")).toMatchObject({ lastMessageAt: last[0]?.at, unread: 5 });
  });

  it("refuse a direct message without receiverId, or to a non-member, storing nothing", async () => {
    const session = await createSession(node, "bad-carol", ["bad-a"]);
    const a = await connectAgent(node, "bad-a");
    const base = { sessionId: session.id, content: "x", type: "text", visibility: "direct" };
    const noReceiver = await call(a, "message", { ...base, id: "bad-1" });
    expect(noReceiver).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    expect(String(noReceiver.message)).toContain("receiverId");
    const outsider = await call(a, "message", { ...base, id: "bad-2", receiverId: "stranger" });
    expect(outsider).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    expect(String(outsider.message)).toContain("stranger");
    const badVisibility = await call(a, "message", { ...base, id: "bad-3", visibility: "secret" });
    expect(badVisibility).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    const overHttp = await http("POST", `/v1/sessions/${session.id}/messages`, "bad-a", "agent", {
      id: "bad-4",
      content: "x",
      type: "text",
      visibility: "direct",
      receiverId: "stranger",
    });
    expect(overHttp).toMatchObject({ status: 400, body: { error: { code: "INVALID_PAYLOAD" } } });
    // Batched with a good message in the same write, the bad one still fails alone.
    const [good, bad] = await Promise.all([
      call(a, "message", { ...base, id: "bad-5", visibility: "session" }),
      call(a, "message", { ...base, id: "bad-6", receiverId: "stranger" }),
    ]);
    expect(good).toMatchObject({ status: "success", seq: 1 });
    expect(bad).toMatchObject({ status: "error", code: "INVALID_PAYLOAD" });
    const rows = await node.db.pool.query("select id from messages where session_id = $1", [
      session.id,
    ]);
    expect(rows.rows).toEqual([{ id: "bad-5" }]);
  });

  it("do not hold up another member's SDK: message:hidden lets it skip their seqs at once", async () => {
    const session = await createSession(node, "hint-carol", ["hint-a", "hint-b"]);
    // A hole would wait a minute before a sync fills it: only the hint can close it in time.
    const carol = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("hint-carol", "user"),
      gapWaitMs: 60_000,
    });
    const saw = record(carol);
    await carol.joinSession(session.id);
    const a = await connectAgent(node, "hint-a");
    const send = (id: string, extra: Record<string, unknown> = {}) =>
      call(a, "message", { id, sessionId: session.id, content: id, type: "text", ...extra });
    await send("hint-1", { visibility: "direct", receiverId: "hint-b" });
    await send("hint-2");
    await waitFor(() => saw.messages.length === 1, 5_000, "the public message after a direct one");
    expect(seqs(saw.messages)).toEqual([2]);
  });

  it("do not stall another member's SDK when the live fan-out was lost: sync proves the gaps", async () => {
    const session = await createSession(node, "sdk-carol", ["sdk-a", "sdk-b"]);
    // The direct messages' live fan-out (and with it their message:hidden) is lost.
    const real = node.gateway.realtime.publisher;
    node.gateway.messaging.setPublisher({
      ...real,
      message: (m, except) => (m.visibility === "direct" ? undefined : real.message(m, except)),
    });
    onTestFinished(() => node.gateway.messaging.setPublisher(real));
    const carol = client({
      url: node.url,
      namespace: "/clients",
      token: await node.token("sdk-carol", "user"),
    });
    const saw = record(carol);
    await carol.joinSession(session.id);
    const a = await connectAgent(node, "sdk-a");
    const send = (id: string, extra: Record<string, unknown> = {}) =>
      call(a, "message", { id, sessionId: session.id, content: id, type: "text", ...extra });
    await send("sdk-1", { visibility: "direct", receiverId: "sdk-b" });
    await send("sdk-2", { visibility: "direct", receiverId: "sdk-b" });
    await send("sdk-3");
    await waitFor(
      () => saw.messages.length === 1,
      5_000,
      "the public message after two direct ones",
    );
    await send("sdk-4");
    await waitFor(() => saw.messages.length === 2, 5_000, "the next public message");
    expect(seqs(saw.messages)).toEqual([3, 4]);
    expect(saw.errors).toEqual([]);
  });
});
