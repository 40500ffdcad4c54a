/**
 * Random and adversarial Socket.IO / engine.io frames, over raw WebSockets, at a gateway node in a
 * process of its own, while two well-behaved socket.io-client sockets go on messaging each other:
 * the process must stay up and they must keep getting their acks and broadcasts.
 *
 * Seeded: a failure prints its seed; `FUZZ_SEED=<seed> npx vitest run test/fuzz-frames.test.ts`
 * replays the same frames (their interleaving with the good sockets may differ). `FUZZ_MS` sets
 * the duration (default 4,000).
 */
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredMessage } from "../src/protocol/index.js";
import { type ChildNode, spawnNode } from "./helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";
import { call, closeAllSockets, connect } from "./helpers/gateway.js";
import { RawSocket } from "./helpers/raw-socket.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const DURATION_MS = Number(process.env.FUZZ_MS ?? 4_000);
const FUZZERS = 3;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const EVENTS = [
  "ping",
  "message",
  "sync",
  "join_session",
  "leave_session",
  "context:update",
  "context:get",
  "nope",
  "connect",
  "disconnect",
  "__proto__",
  "constructor",
  "",
] as const;
const NAMESPACES = ["/clients", "/agents", "/", "/nope", "/clients/x", `/${"n".repeat(5_000)}`];

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 3 ? 4 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.int(-1e9, 1e9) * (rng.chance(0.2) ? 1e300 : 1);
    case 2:
      return rng.chance(0.5);
    case 3:
      return String.fromCharCode(
        ...Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 0xffff)),
      );
    case 4:
      return "x".repeat(rng.int(0, 70_000));
    case 5:
      return Array.from({ length: rng.int(0, 5) }, () => randomValue(rng, depth + 1));
    case 6:
      return {
        sessionId: rng.pick(["s", "", "a".repeat(65), "../x"]),
        afterSeq: rng.pick([0, -1, 1.5, 2 ** 60, "1"]),
        limit: rng.pick([1, 0, 501, 1e9]),
        [rng.pick(["__proto__", "constructor", "id", "content"])]: randomValue(rng, depth + 1),
      };
    default:
      return { _placeholder: true, num: rng.int(-1, 20) };
  }
}

/** One frame: a string (a text frame), a Buffer (binary), or bytes to send as text (bad UTF-8). */
type Frame = string | Buffer | { text: Buffer };

function randomFrames(rng: Rng, ns: string): Frame[] {
  const id = () =>
    rng.chance(0.8) ? String(rng.int(0, 1e6)) : rng.pick(["", "9".repeat(30), "-1"]);
  const deep = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n);
  switch (rng.int(0, 15)) {
    case 0: // argument counts, up to far beyond any stack
      return [
        `42${ns},${id()}["ping"${",1".repeat(rng.pick([2, 3, 100, 5_000, 45_000, 120_000]))}]`,
      ];
    case 1: // a known event with random arguments
      return [
        `42${ns},${id()}${JSON.stringify([rng.pick(EVENTS), ...Array.from({ length: rng.int(0, 3) }, () => randomValue(rng))])}`,
      ];
    case 2: // deep nesting, arrays
      return [`42${ns},${id()}["message",${deep(rng.int(1, 150_000), "[", "]")}]`];
    case 3: // deep nesting, objects, where schemas and stringify recurse
      return [
        `42${ns},${id()}["message",{"id":"a","sessionId":"s","content":"c","type":"text","metadata":${deep(rng.int(1, 50_000), '{"a":', "}").replace(/:}/, ":1}")}}]`,
      ];
    case 4: {
      // binary packets: attachment counts, placeholders, and some or all (or more) attachments
      const n = rng.int(0, 12);
      const frames: Frame[] = [
        `${rng.pick(["45", "46"])}${rng.pick([String(n), "-1", "x", ""])}-${ns},${id()}["ping",{"_placeholder":true,"num":${rng.int(-1, 12)}}]`,
      ];
      for (let i = rng.int(0, n + 1); i > 0; i--) frames.push(Buffer.alloc(rng.int(0, 50_000), i));
      return frames;
    }
    case 5: // binary with no header
      return [Buffer.from(Array.from({ length: rng.int(0, 100) }, () => rng.int(0, 255)))];
    case 6: // huge frames, beyond maxHttpBufferSize
      return [
        `42${ns},["message",{"content":"${"x".repeat(rng.pick([900_000, 1_500_000, 2_500_000]))}"}]`,
      ];
    case 7: // bad unicode: lone surrogates in a text frame, and invalid UTF-8 bytes as text
      return rng.chance(0.5)
        ? [`42${ns},${id()}["ping","\ud800\udfff\ud83d${String.fromCharCode(0xdc00)}"]`]
        : [{ text: Buffer.from([0x34, 0x32, 0xff, 0xfe, 0xc0, 0x80]) }];
    case 8: // malformed packet types and junk
      return [
        `${String.fromCharCode(rng.int(0, 127))}${rng.int(0, 99)}${ns},${JSON.stringify(randomValue(rng))}`,
      ];
    case 9: // namespaces: connect, disconnect, events where nothing is connected
      return [
        `${rng.pick(["40", "41", "42", "44"])}${rng.pick(NAMESPACES)},${rng.pick(["{}", '{"token":"x"}', '["ping"]', "", "null"])}`,
      ];
    case 10: // acks the server never asked for, with many arguments
      return [
        `43${ns},${id()}[${Array.from({ length: rng.pick([0, 1, 3, 50_000]) }, () => "1").join(",")}]`,
      ];
    case 11: // engine.io packet types
      return [rng.pick(["1", "2", "3", "5", "6", "2probe", "3probe", "", "4", "7", "0", "9"])];
    case 12: // placeholders outside binary packets
      return [`42${ns},${id()}["sync",{"_placeholder":true,"num":${rng.int(-1, 99)}}]`];
    case 13: // numbers and odd values as event names
      return [`42${ns},${id()}[${rng.pick(["1", "null", "{}", "[]", "true", '"\\u0000"'])},1]`];
    case 14: // a flood of small events
      return Array.from({ length: rng.int(1, 50) }, () => `42${ns},["ping",1]`);
    default: // random text
      return [
        String.fromCharCode(...Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 0xffff))),
      ];
  }
}

let db: TestDatabase;
let node: ChildNode;
beforeAll(async () => {
  db = await createTestDatabase();
  node = await spawnNode({ DATABASE_URL: db.url, NODE_ID: "fuzz-child" });
}, 60_000);
afterAll(async () => {
  closeAllSockets();
  await node?.stop();
  await db?.drop();
});

async function devToken(sub: string, kind: "agent" | "user"): Promise<string> {
  const res = await fetch(`${node.url}/v1/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, kind }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function fuzzer(
  rng: Rng,
  until: number,
  tokens: Record<string, string>,
  count: { frames: number },
) {
  while (Date.now() < until) {
    const ns = rng.pick(["/clients", "/agents", "/clients", "/agents", "/nope"]);
    const token = rng.chance(0.9) ? (ns === "/agents" ? tokens.agent : tokens.user) : "bad";
    let raw: RawSocket;
    try {
      raw = await RawSocket.open(node.url, rng.chance(0.9) ? ns : undefined, token);
    } catch {
      continue; // refused (bad token, unknown namespace): that is the point
    }
    for (let n = rng.int(1, 40); n > 0 && raw.isOpen && Date.now() < until; n--) {
      for (const frame of randomFrames(rng, ns)) {
        if (!raw.isOpen) break;
        if (typeof frame === "object" && !Buffer.isBuffer(frame))
          raw.ws.send(frame.text, { binary: false });
        else raw.send(frame);
        count.frames++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    raw.close();
  }
}

describe("fuzzing the frame decoder", () => {
  it("keeps the process up and well-behaved sockets served", async () => {
    const count = { frames: 0 };
    try {
      const tokens = {
        user: await devToken("fuzz-user", "user"),
        agent: await devToken("fuzz-agent", "agent"),
      };
      const created = await fetch(`${node.url}/v1/sessions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${await devToken("alice", "user")}`,
        },
        body: JSON.stringify({ members: ["bot"] }),
      });
      const sessionId = ((await created.json()) as { id: string }).id;
      const alice: Socket = await connect(node.url, "/clients", {
        token: await devToken("alice", "user"),
      });
      const bot: Socket = await connect(node.url, "/agents", {
        token: await devToken("bot", "agent"),
      });
      expect(await call(alice, "join_session", { sessionId })).toMatchObject({ status: "success" });
      const received = new Set<string>();
      alice.on("message", (m: StoredMessage) => received.add(m.id));

      const until = Date.now() + DURATION_MS;
      const fuzzing = Array.from({ length: FUZZERS }, (_, i) =>
        fuzzer(prng(SEED + i), until, tokens, count),
      );
      const sent: string[] = [];
      const acks: Promise<Record<string, unknown>>[] = [];
      while (Date.now() < until) {
        const id = `good-${sent.length}`;
        sent.push(id);
        acks.push(call(bot, "message", { id, sessionId, content: "hello", type: "text" }, 10_000));
        acks.push(call(alice, "ping", {}, 10_000));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await Promise.all(fuzzing);
      for (const ack of await Promise.all(acks)) expect(ack).toMatchObject({ status: "success" });
      const deadline = Date.now() + 10_000;
      while (received.size < sent.length && Date.now() < deadline) {
        await new Promise((resolve) => alice.once("message", resolve));
      }
      expect([...received].sort()).toEqual([...sent].sort());
      expect(node.child.exitCode).toBeNull();
      expect(node.child.signalCode).toBeNull();
      expect(count.frames).toBeGreaterThan(100);
      console.log(
        `fuzz: seed ${SEED}, ${count.frames} frames in ${DURATION_MS} ms, ${sent.length} good messages`,
      );
    } catch (err) {
      const exit = `node exit: code ${node.child.exitCode}, signal ${node.child.signalCode}`;
      const stderr = node.stderr().slice(-2_000);
      throw new Error(
        `fuzz failed, FUZZ_SEED=${SEED} replays it (${count.frames} frames sent; ${exit}): ${(err as Error).message}\n${stderr}`,
      );
    }
  }, 60_000);
});
