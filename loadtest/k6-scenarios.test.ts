/**
 * The k6 adapter and every scenario, run in Node through k6-shim.ts against a real gateway at a
 * tiny load (a handful of sockets on 127.0.0.1, a few seconds each). k6 itself cannot run here;
 * this proves the scripts' logic: setup, connects, joins, pacing, loss and gap accounting, and
 * that each scenario's own thresholds pass on a healthy gateway and fail on a broken one.
 *
 * The gateway is `src/main.ts` in a child process, as k6 would meet it: k6's HTTP calls are
 * synchronous, and the shim's blocking requests would starve a gateway in this process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../test/helpers/db.js";
import { TEST_SECRET } from "../test/helpers/gateway.js";
import {
  evaluateThresholds,
  execution,
  failedChecks,
  openedSockets,
  resetSamples,
  samples,
  systemTags,
} from "./k6-shim.js";

vi.mock("k6", async () => (await import("./k6-shim.js")).k6);
vi.mock("k6/crypto", async () => (await import("./k6-shim.js")).k6Crypto);
vi.mock("k6/execution", async () => ({ default: (await import("./k6-shim.js")).execution }));
vi.mock("k6/http", async () => (await import("./k6-shim.js")).k6Http);
vi.mock("k6/metrics", async () => (await import("./k6-shim.js")).k6Metrics);
vi.mock("k6/timers", async () => (await import("./k6-shim.js")).k6Timers);
vi.mock("k6/websockets", async () => ({
  WebSocket: (await import("./k6-shim.js")).K6WebSocket,
}));

declare global {
  // k6's global for `-e NAME=value` settings.
  var __ENV: Record<string, string>;
}

type Thresholds = Record<string, string[]>;
interface Handle {
  connected: boolean;
  everConnected: boolean;
  close(): void;
}
interface Config {
  baseUrls: string[];
}
interface Adapter {
  loadConfig(): Config;
  mintToken(secret: string, claims: { sub: string; kind: string }, ttlSeconds: number): string;
  tokenFor(config: Config, sub: string, kind: "agent" | "user"): { token: string; sub: string };
  setupGroups(config: Config, count: number, prefix: string): Group[];
  openSocket(options: Record<string, unknown>): Handle;
}
interface Group {
  sessionId: string;
  agent: { sub: string; token: string };
  user: { sub: string; token: string };
}
interface Scenario {
  options: { scenarios: Record<string, Record<string, unknown>>; thresholds: Thresholds };
  setup(): unknown;
  [fn: string]: unknown;
}

/** A plain-JS module of the suite, typed by the caller (no allowJs in tsconfig). */
async function load<T>(path: string): Promise<T> {
  return (await import(/* @vite-ignore */ path)) as T;
}

let db: TestDatabase;
let gateway: ChildProcess;
let baseUrl: string;
let run = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  gateway = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_DEV_TOKENS: "true",
      LOG_LEVEL: "info",
      NODE_ID: "k6-shim-test",
      SHUTDOWN_TIMEOUT_MS: "3000",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: gateway.stdout as NodeJS.ReadableStream });
  baseUrl = await new Promise<string>((resolve, reject) => {
    gateway.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
    lines.on("line", (line) => {
      if (!line.includes("gateway listening")) return;
      resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
    });
  });
}, 60_000);
afterEach(() => {
  for (const ws of openedSockets) ws.terminate();
  openedSockets.clear();
});
afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.once("exit", resolve));
    gateway.kill("SIGTERM");
    await exited;
  }
  await db?.drop();
}, 30_000);

/** A `/v1` call from the test itself (async, unlike k6's). */
async function api<T>(method: string, path: string, token: string): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.ok, `${method} ${path} answered ${res.status}`).toBe(true);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

function setEnv(env: Record<string, string>): void {
  run++;
  globalThis.__ENV = { BASE_URL: baseUrl, RUN_ID: `t${Date.now().toString(36)}${run}`, ...env };
}

/** Starts a scenario clock and clears the samples, as a fresh k6 run would. */
function startScenario(name: string): void {
  resetSamples();
  execution.scenario.startTime = Date.now();
  execution.vu.idInTest = 1;
  systemTags.scenario = name;
}

function sum(name: string, tags: Record<string, string> = {}): number {
  return (samples.get(name) ?? [])
    .filter((s) => Object.entries(tags).every(([k, v]) => s.tags[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function failures(thresholds: Thresholds) {
  return evaluateThresholds(thresholds).results.filter((r) => !r.ok);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("the k6 adapter against a gateway", () => {
  test("mints HS256 tokens the gateway accepts, and takes a passed-in token's sub", async () => {
    setEnv({ AUTH_JWT_SECRET: TEST_SECRET, TOKEN_TTL: "600" });
    startScenario("tokens");
    const k6 = await load<Adapter>("./lib/k6-socket.js");
    const minted = k6.tokenFor(k6.loadConfig(), "k6-minted", "agent");
    const { payload } = await jwtVerify(minted.token, new TextEncoder().encode(TEST_SECRET), {
      algorithms: ["HS256"],
    });
    expect(payload).toMatchObject({ sub: "k6-minted", kind: "agent" });
    expect((payload.exp as number) * 1000).toBeGreaterThan(Date.now() + 500_000);
    const accepted = k6.openSocket({ baseUrl, nsp: "/agents", token: minted.token });

    setEnv({ AUTH_JWT_SECRET: "another-secret-0123456789-0123456789-x" });
    const forged = k6.tokenFor(k6.loadConfig(), "k6-forged", "agent");
    k6.openSocket({ baseUrl, nsp: "/agents", token: forged.token });
    await until(() => accepted.connected && sum("sio_connect_errors") === 1, "both answers");
    expect(sum("sio_connect_errors", { code: "AUTH_INVALID" })).toBe(1);

    setEnv({ AGENT_TOKEN: minted.token });
    expect(k6.tokenFor(k6.loadConfig(), "ignored", "agent")).toEqual(minted);
  });

  test("sets up session groups with dev tokens over k6/http", async () => {
    setEnv({});
    startScenario("setup");
    const k6 = await load<Adapter>("./lib/k6-socket.js");
    const groups = k6.setupGroups(k6.loadConfig(), 2, "grp");
    expect(groups).toHaveLength(2);
    for (const group of groups) {
      const session = await api<{ members: string[] }>(
        "GET",
        `/v1/sessions/${group.sessionId}`,
        group.user.token,
      );
      expect(session.members).toEqual(expect.arrayContaining([group.agent.sub, group.user.sub]));
    }
    expect(failedChecks.size).toBe(0);
  });

  test("counts connects, refusals by code, and a socket the server ends as unexpected", async () => {
    // The minted exp is whole seconds from a floored now, so a TTL of n leaves n-1 to n s. With
    // 5 s, the token outlives the whole connect wait below (3 s): a handshake cannot race it.
    setEnv({ AUTH_JWT_SECRET: TEST_SECRET, TOKEN_TTL: "5" });
    startScenario("adapter");
    const k6 = await load<Adapter>("./lib/k6-socket.js");
    const config = k6.loadConfig();
    const base = { baseUrl, nsp: "/agents" };
    const longLived = k6.mintToken(TEST_SECRET, { sub: "k6-long", kind: "agent" }, 600);
    const good = k6.openSocket({ ...base, token: longLived });
    const refused = k6.openSocket({ ...base, token: `${longLived}x` });
    // TOKEN_TTL=5: the gateway ends this socket when its token expires.
    const expiring = k6.openSocket({
      ...base,
      token: k6.tokenFor(config, "k6-exp", "agent").token,
    });
    await until(() => good.connected && expiring.everConnected, "connects", 3000);
    await until(() => sum("sio_connect_errors") === 1, "the refusal");
    expect(sum("sio_connect_errors", { code: "AUTH_INVALID" })).toBe(1);
    expect(refused.everConnected).toBe(false);
    expect(sum("sio_connected")).toBe(2);
    expect(samples.get("sio_connect_time")).toHaveLength(2);

    await until(() => !expiring.connected, "the token expiry", 8000);
    expect(sum("sio_unexpected_disconnects", { reason: "io server disconnect" })).toBe(1);
    good.close();
    await sleep(100);
    expect(sum("sio_unexpected_disconnects")).toBe(1);
  });
});

describe("the scenarios at a tiny load against a gateway", () => {
  test("message-latency: every acked message reaches the other sockets and its thresholds pass", async () => {
    setEnv({
      SOCKETS: "4",
      GROUP_SIZE: "4",
      RATE: "8",
      WARMUP: "1500ms",
      DURATION: "2s",
      DRAIN: "1s",
      CONNECT_SPREAD: "300ms",
      // Latency is not what this test judges on a 2-core box running Postgres too.
      P50_MS: "1000",
      P99_MS: "2000",
    });
    const scenario = await load<Scenario>("./scenarios/message-latency.js");
    expect(scenario.options.scenarios.message_latency).toMatchObject({ vus: 1, iterations: 1 });
    const data = scenario.setup();
    startScenario("message_latency");
    (scenario.default as (d: unknown) => void)(data);
    await sleep(1500 + 2000 + 1000 + 500);

    const acked = sum("sio_acks", { event: "message" });
    expect(acked).toBeGreaterThanOrEqual(15);
    expect(sum("sio_messages_received")).toBe(acked * 3);
    expect(samples.get("message_latency")?.length).toBe(acked * 3);
    expect(failures(scenario.options.thresholds)).toEqual([]);
  });

  test("message-latency thresholds fail when deliveries are lost (a member removed mid-run)", async () => {
    setEnv({
      SOCKETS: "4",
      GROUP_SIZE: "4",
      RATE: "8",
      WARMUP: "1500ms",
      DURATION: "2s",
      DRAIN: "1s",
      CONNECT_SPREAD: "300ms",
      P50_MS: "1000",
      P99_MS: "2000",
    });
    const { latencyScenario } = await load<{
      latencyScenario(d: object): Scenario & { run(d: unknown): void };
    }>("./lib/latency-scenario.js");
    const scenario = latencyScenario({ name: "lossy", sockets: 4, rate: 8, crossNode: false });
    const data = scenario.setup() as { groups: Group[] };
    const group = data.groups[0] as Group;
    startScenario("lossy");
    scenario.run(data);
    await sleep(1500 + 700);
    // The users' sockets leave the room: the agents' messages stop reaching them.
    await api(
      "DELETE",
      `/v1/sessions/${group.sessionId}/members/${group.user.sub}`,
      group.agent.token,
    );
    await sleep(1300 + 1000 + 500);

    const failed = failures(scenario.options.thresholds).map((f) => f.threshold);
    expect(failed).toContain("sio_lost_messages");
    expect(sum("sio_lost_messages")).toBeGreaterThan(0);
    expect(sum("sio_ack_errors", { code: "FORBIDDEN" })).toBeGreaterThan(0);
  });

  test("fanout: one sender reaches every receiver, exactly RATE x DURATION messages", async () => {
    setEnv({
      RECEIVERS: "4",
      SOCKETS_PER_VU: "2",
      SEND_RATE: "10",
      WARMUP: "1500ms",
      DURATION: "2s",
      DRAIN: "1s",
      P99_MS: "2000",
    });
    const scenario = await load<Scenario>("./scenarios/fanout.js");
    expect(scenario.options.scenarios.receivers).toMatchObject({ vus: 2, exec: "receivers" });
    const data = scenario.setup();
    startScenario("receivers");
    for (const vu of [1, 2]) {
      execution.vu.idInTest = vu;
      (scenario.receivers as (d: unknown) => void)(data);
    }
    (scenario.sender as (d: unknown) => void)(data);
    await sleep(1500 + 2000 + 1000 + 500);

    expect(sum("sio_acks", { event: "message" })).toBe(20);
    expect(sum("sio_messages_received")).toBe(80);
    expect(failures(scenario.options.thresholds)).toEqual([]);
  });

  test("reconnect-storm: sockets drop together, rejoin with lastSeq and miss nothing", async () => {
    setEnv({
      SOCKETS: "4",
      SOCKETS_PER_VU: "4",
      WARMUP: "1500ms",
      STORMS: "2",
      STORM_EVERY: "1500ms",
      STORM_DOWNTIME: "500ms",
      SETTLE: "1500ms",
      SEND_EVERY: "150ms",
      DRAIN: "500ms",
      FINAL_WAIT: "1500ms",
    });
    const scenario = await load<Scenario>("./scenarios/reconnect-storm.js");
    const data = scenario.setup();
    startScenario("reconnect_storm");
    (scenario.default as (d: unknown) => void)(data);
    // Storms at 1.5 s and 3 s, sending stops at 4.5 s, final sync at 5 s, end at 6.5 s.
    await sleep(6000);

    // Three sockets storm twice; the producer stays up.
    expect(sum("reconnects")).toBe(6);
    expect(samples.get("reconnect_time")).toHaveLength(6);
    for (const s of samples.get("reconnect_time") ?? [])
      expect(s.value).toBeGreaterThanOrEqual(500);
    // About three messages go by in each socket's 500 ms down time.
    expect(sum("resynced_messages")).toBeGreaterThanOrEqual(6);
    expect(sum("sio_acks", { event: "message" })).toBeGreaterThan(10);
    expect(sum("sio_acks", { event: "sync" })).toBeGreaterThanOrEqual(4);
    expect(failures(scenario.options.thresholds)).toEqual([]);
    await sleep(700);
  });

  test("connections: VUs ramp up, every socket joins, pings and stays until the hold ends", async () => {
    setEnv({
      CONNECTIONS: "6",
      START_CONNECTIONS: "2",
      SOCKETS_PER_VU: "2",
      START_HOLD: "1s",
      RAMP: "1s",
      HOLD: "1s",
      SESSIONS: "2",
      PING_EVERY: "400ms",
    });
    const scenario = await load<Scenario>("./scenarios/connections.js");
    expect(scenario.options.scenarios.connections).toMatchObject({
      executor: "ramping-vus",
      startVUs: 1,
      stages: [
        { duration: "1s", target: 1 },
        { duration: "1s", target: 3 },
        { duration: "1s", target: 3 },
      ],
    });
    const data = scenario.setup();
    startScenario("connections");
    const iteration = scenario.default as (d: unknown) => void;
    iteration(data);
    // ramping-vus brings VU 2 and 3 in during the ramp.
    for (const [vu, at] of [
      [2, 1300],
      [3, 1700],
    ] as const) {
      await sleep(at - (Date.now() - execution.scenario.startTime));
      execution.vu.idInTest = vu;
      iteration(data);
    }
    await until(() => sum("sio_connected") === 6, "six connects");
    expect(openedSockets.size).toBe(6);
    await sleep(3000 - (Date.now() - execution.scenario.startTime) + 400);

    expect(openedSockets.size).toBe(0);
    expect(sum("sio_acks", { event: "join_session" })).toBe(6);
    expect(sum("sio_acks", { event: "ping" })).toBeGreaterThan(0);
    expect(failures(scenario.options.thresholds)).toEqual([]);
  });

  test("http-api: posts are stored and the polling reader reads them after its afterSeq", async () => {
    setEnv({ POST_RATE: "5", GET_RATE: "5", DURATION: "5s", SESSIONS: "1" });
    const scenario = await load<Scenario>("./scenarios/http-api.js");
    const data = scenario.setup() as { groups: Group[] };
    const group = data.groups[0] as Group;
    startScenario("http");
    for (let i = 0; i < 3; i++) {
      execution.scenario.iterationInTest = i;
      (scenario.post as (d: unknown) => void)(data);
    }
    (scenario.get as (d: unknown) => void)(data);
    (scenario.get as (d: unknown) => void)(data);
    const page = await api<{ headSeq: number }>(
      "GET",
      `/v1/sessions/${group.sessionId}/messages?afterSeq=0`,
      group.agent.token,
    );
    expect(page.headSeq).toBe(3);
    expect(failedChecks).toEqual(new Map());
    const { results, skipped } = evaluateThresholds(scenario.options.thresholds);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.threshold)).toContain("checks");
    expect(skipped).toContain("http_req_duration{name:post_message}");
  });
});
