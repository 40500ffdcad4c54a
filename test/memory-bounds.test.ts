/**
 * Bounded memory per client: a connection that does not read is dropped past its outgoing buffer
 * limit, a history page is cut by bytes as well as by count, and HTTP history reads are capped
 * per node (PROTOCOL.md sections 4, 5 and 8).
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect, waitFor } from "./helpers/gateway.js";
import { drops } from "./helpers/metric.js";
import { RawSocket } from "./helpers/raw-socket.js";

const alice = { id: "alice", kind: "user" as const };
const node = sharedGateway({
  env: {
    SOCKET_MAX_BUFFER_BYTES: "262144",
    HISTORY_PAGE_MAX_BYTES: "65536",
    HTTP_HISTORY_CONCURRENCY: "1",
  },
});
const raws: RawSocket[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.close();
});

/** A session of alice's holding messages with contents of the given sizes, seq 1, 2, … */
async function sessionWith(sizes: number[]): Promise<string> {
  const { messaging } = node.gateway;
  const session = await messaging.createSession(alice, {});
  for (const [i, size] of sizes.entries()) {
    await messaging.sendMessage(alice, {
      id: `${session.id}-${i}`,
      sessionId: session.id,
      content: "x".repeat(size),
      type: "text",
    });
  }
  return session.id;
}

type Page = { status: string; messages: StoredMessage[]; hasMore: boolean; headSeq: number };

describe("history pages", () => {
  it("cuts a sync page by bytes, says hasMore, and always carries at least one message", async () => {
    const sessionId = await sessionWith([30_000, 30_000, 30_000, 65_536, 10]);
    const socket = await connect(node.url, "/clients", {
      token: await node.token("alice", "user"),
    });
    const seen: number[][] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await call<Page>(socket, "sync", { sessionId, afterSeq, limit: 500 });
      expect(page.status).toBe("success");
      expect(page.messages.length).toBeGreaterThan(0);
      seen.push(page.messages.map((m) => m.seq));
      afterSeq = page.messages.at(-1)?.seq ?? afterSeq;
      if (!page.hasMore) break;
    }
    // 2 × 30,000 fit in 64 KiB, a third does not; the 64 KiB message alone exceeds the budget
    // and still makes a page of its own.
    expect(seen).toEqual([[1, 2], [3], [4], [5]]);
  });

  it("still cuts by count, with hasMore", async () => {
    const sessionId = await sessionWith([10, 10, 10]);
    const socket = await connect(node.url, "/clients", {
      token: await node.token("alice", "user"),
    });
    const page = await call<Page>(socket, "sync", { sessionId, afterSeq: 0, limit: 2 });
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(page.hasMore).toBe(true);
  });
});

describe("history pages backwards", () => {
  it("cuts a backwards sync page by bytes from the newest end, always at least one message", async () => {
    const sessionId = await sessionWith([10, 65_536, 30_000, 30_000, 30_000]);
    const socket = await connect(node.url, "/clients", {
      token: await node.token("alice", "user"),
    });
    const seen: number[][] = [];
    let beforeSeq = 6;
    for (;;) {
      const page = await call<Page>(socket, "sync", { sessionId, beforeSeq, limit: 500 });
      expect(page.status).toBe("success");
      expect(page.messages.length).toBeGreaterThan(0);
      seen.push(page.messages.map((m) => m.seq));
      beforeSeq = page.messages[0]?.seq ?? beforeSeq;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual([[4, 5], [3], [2], [1]]);
  });

  it("cuts by count, oldest first, and refuses afterSeq with beforeSeq", async () => {
    const sessionId = await sessionWith([10, 10, 10]);
    const socket = await connect(node.url, "/clients", {
      token: await node.token("alice", "user"),
    });
    const page = await call<Page>(socket, "sync", { sessionId, beforeSeq: 4, limit: 2 });
    expect(page.messages.map((m) => m.seq)).toEqual([2, 3]);
    expect(page.hasMore).toBe(true);
    const last = await call<Page>(socket, "sync", { sessionId, beforeSeq: 2, limit: 2 });
    expect(last.messages.map((m) => m.seq)).toEqual([1]);
    expect(last.hasMore).toBe(false);
    const both = await call<{ status: string; code?: string; error?: { code: string } }>(
      socket,
      "sync",
      { sessionId, afterSeq: 0, beforeSeq: 2 },
    );
    expect(both.status).toBe("error");
    expect(JSON.stringify(both)).toContain("INVALID_PAYLOAD");
  });
});

describe("a client that does not read", () => {
  it("is dropped past the outgoing buffer limit, with the metric, and reconnects to catch up", async () => {
    const sessionId = await sessionWith(Array.from({ length: 8 }, () => 60_000));
    const before = await drops(node.gateway.metrics, "outgoing_buffer");
    const raw = await RawSocket.open(node.url, "/clients", await node.token("alice", "user"));
    raws.push(raw);
    const nsp = node.gateway.realtime.io.of("/clients");
    expect(nsp.sockets.size).toBe(1);
    // Stop reading: the kernel buffers fill, then ws's, then engine.io's.
    (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 1; i <= 400; i++) {
      raw.send(
        `42/clients,${i}${JSON.stringify(["sync", { sessionId, afterSeq: 0, limit: 500 }])}`,
      );
    }
    await waitFor(
      async () => (await drops(node.gateway.metrics, "outgoing_buffer")) > before,
      10_000,
      "drop",
    );
    await waitFor(() => nsp.sockets.size === 0, 5_000, "socket gone");
    expect(await drops(node.gateway.metrics, "outgoing_buffer")).toBe(before + 1);
    const back = await connect(node.url, "/clients", { token: await node.token("alice", "user") });
    const join = await call<Page>(back, "join_session", { sessionId, lastSeq: 0 });
    expect(join.messages.map((m) => m.seq)).toEqual([1]);
    expect(join.hasMore).toBe(true);
  });
});

describe("a long-polling client that stops polling", () => {
  it("is dropped once engine.io's write buffer passes the limit", async () => {
    const sessionId = await sessionWith(Array.from({ length: 8 }, () => 60_000));
    const before = await drops(node.gateway.metrics, "outgoing_buffer");
    const base = `${node.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    const post = (body: string) => fetch(`${base}&sid=${sid}`, { method: "POST", body });
    const token = await node.token("alice", "user");
    await post(`40/clients,${JSON.stringify({ token })}`);
    // The one GET that confirms the namespace connection; after it, the client never polls again.
    expect(await (await fetch(`${base}&sid=${sid}`)).text()).toContain("40/clients,");
    const nsp = node.gateway.realtime.io.of("/clients");
    expect(nsp.sockets.size).toBe(1);
    const sync = JSON.stringify(["sync", { sessionId, afterSeq: 0, limit: 500 }]);
    await post(Array.from({ length: 20 }, (_, i) => `42/clients,${i + 1}${sync}`).join("\x1e"));
    await waitFor(
      async () => (await drops(node.gateway.metrics, "outgoing_buffer")) > before,
      10_000,
      "drop",
    );
    await waitFor(() => nsp.sockets.size === 0, 5_000, "socket gone");
    expect(await drops(node.gateway.metrics, "outgoing_buffer")).toBe(before + 1);
  });
});

describe("HTTP history reads", () => {
  it("run one at a time here, one more waits, and the next gets 503 UNAVAILABLE with Retry-After", async () => {
    const sessionId = await sessionWith([10]);
    const token = await node.token("alice", "user");
    const read = () =>
      fetch(`${node.url}/v1/sessions/${sessionId}/messages?afterSeq=0`, {
        headers: { authorization: `Bearer ${token}` },
      });
    // Hold the first read inside the database: the membership check waits for this lock.
    const blocker = new pg.Client({ connectionString: node.db.url });
    await blocker.connect();
    try {
      await blocker.query("begin");
      await blocker.query("lock table sessions in access exclusive mode");
      const running = read();
      await waitFor(async () => {
        const r = await blocker.query<{ n: number }>(
          "select count(*)::int as n from pg_locks where not granted and relation = 'sessions'::regclass",
        );
        return (r.rows[0]?.n ?? 0) > 0;
      });
      // Of two more, one waits in the gate's queue and the other is refused at once.
      const more = [read(), read()];
      const refused = await Promise.race(more);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(await refused.json()).toMatchObject({ error: { code: "UNAVAILABLE" } });
      await blocker.query("commit");
      expect((await running).status).toBe(200);
      const statuses = (await Promise.all(more)).map((r) => r.status).sort();
      expect(statuses).toEqual([200, 503]);
    } finally {
      await blocker.query("rollback").catch(() => {});
      await blocker.end();
    }
  });
});
