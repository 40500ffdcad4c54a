/**
 * examples/python-agent.py (python-socketio 5.x, Debian's python3-socketio and python3-aiohttp)
 * against a live gateway: it answers user messages with streams that a user socket sees start,
 * grow in order and end as one stored message, joins sessions it is added to, and after a cut
 * mid-answer finishes that answer and the message it missed, each stored once.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  closeAllSockets,
  connect,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers/gateway.js";
import { type FaultProxy, startProxy } from "./helpers/proxy.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const AGENT = path.join(ROOT, "examples/python-agent.py");

interface Seen {
  starts: Array<Record<string, unknown>>;
  deltas: Array<{ id: string; index: number; delta: string }>;
  aborts: Array<Record<string, unknown>>;
  messages: Array<Record<string, unknown> & { id: string; content: string; replyTo?: string }>;
}

/** A user socket joined to `sessionId`, recording what the agent's streams send it. */
async function watcher(node: TestGateway, user: string, sessionId: string) {
  const socket = await connect(node.url, "/clients", { token: await node.token(user, "user") });
  const seen: Seen = { starts: [], deltas: [], aborts: [], messages: [] };
  socket.on("stream:start", (e) => seen.starts.push(e));
  socket.on("stream:delta", (e) => seen.deltas.push(e));
  socket.on("stream:abort", (e) => seen.aborts.push(e));
  socket.on("message", (m) => seen.messages.push(m));
  const joined = await call(socket, "join_session", { sessionId });
  expect(joined.status).toBe("success");
  return { socket, seen };
}

async function http<T>(
  node: TestGateway,
  token: string,
  method: string,
  route: string,
  body?: unknown,
) {
  const res = await fetch(`${node.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status, `${method} ${route}`).toBeLessThan(300);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The agent as a child process, with its stdout kept for `line`. */
class AgentProcess {
  out = "";
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(url: string, agentId: string, env: Record<string, string> = {}) {
    this.child = spawn(PYTHON, [AGENT], {
      env: { ...process.env, GATEWAY_URL: url, AGENT_ID: agentId, ...env },
    });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.out += chunk.toString();
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.out += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once("exit", resolve));
  }

  /** Resolves once a stdout line matches; fails with the output if the agent exits first. */
  line(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    return this.until(() => pattern.test(this.out), `${pattern} from the agent`, timeoutMs);
  }

  /** Resolves once `predicate` holds; a failure carries what the agent said. */
  async until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    await waitFor(
      () => {
        if (predicate()) return true;
        if (gone) throw new Error("the agent exited");
        return false;
      },
      timeoutMs,
      what,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- agent output ---\n${this.out}`);
    });
  }

  async stop() {
    this.child.kill("SIGTERM");
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(killer);
  }
}

function repliesTo(seen: Seen, messageId: string) {
  return seen.messages.filter((m) => m.replyTo === messageId);
}

/** The stream the user saw for `id`: its deltas in the order they came. */
function deltasOf(seen: Seen, id: string) {
  return seen.deltas.filter((d) => d.id === id);
}

let node: TestGateway;
let proxy: FaultProxy;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  const check = spawnSync(PYTHON, ["-c", "import socketio, aiohttp"], { encoding: "utf8" });
  if (check.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import socketio and aiohttp (install Debian's python3-socketio and ` +
        `python3-aiohttp, as .ci/run does):\n${check.stderr}`,
    );
  }
  node = await startTestGateway();
  proxy = await startProxy(Number(new URL(node.url).port));
});
afterEach(async () => {
  closeAllSockets();
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await proxy?.close();
  await node?.close();
});

describe("examples/python-agent.py", () => {
  it("answers a user message with a stream the user sees start, grow in order and end as the stored message", async () => {
    const userToken = await node.token("py-user-1", "user");
    const session = await http<{ id: string }>(node, userToken, "POST", "/v1/sessions", {
      title: "python agent",
      members: ["py-agent-1"],
    });
    const agent = new AgentProcess(node.url, "py-agent-1");
    agents.push(agent);
    await agent.line(/^ready 1$/m);
    const { socket, seen } = await watcher(node, "py-user-1", session.id);

    const sent = await call(socket, "message", {
      id: "ask-1",
      sessionId: session.id,
      type: "text",
      content: "what is the weather like",
    });
    expect(sent.status).toBe("success");
    await agent.until(() => repliesTo(seen, "ask-1").length === 1, "the agent's answer");

    const answer = repliesTo(seen, "ask-1")[0] as Seen["messages"][number];
    expect(answer).toMatchObject({ senderId: "py-agent-1", senderKind: "agent", type: "text" });
    expect(answer.content).toBe("py-agent-1 heard py-user-1: what is the weather like");
    // The stream came first, under the final message's id, then its deltas in index order.
    expect(seen.starts).toHaveLength(1);
    expect(seen.starts[0]).toMatchObject({
      id: answer.id,
      senderId: "py-agent-1",
      replyTo: "ask-1",
    });
    const deltas = deltasOf(seen, answer.id);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.index)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.delta).join("")).toBe(answer.content);
    expect(seen.messages.indexOf(answer)).toBeGreaterThanOrEqual(0);

    // Stored once: the history holds the question and exactly one answer.
    const history = await http<{ messages: Seen["messages"] }>(
      node,
      userToken,
      "GET",
      `/v1/sessions/${session.id}/messages`,
    );
    expect(history.messages.map((m) => [m.id, m.content])).toEqual([
      ["ask-1", "what is the weather like"],
      [answer.id, answer.content],
    ]);
  }, 30_000);

  it("joins a session it is added to while running and answers there", async () => {
    const userToken = await node.token("py-user-2", "user");
    const agent = new AgentProcess(node.url, "py-agent-2");
    agents.push(agent);
    await agent.line(/^ready 0$/m);
    const session = await http<{ id: string }>(node, userToken, "POST", "/v1/sessions", {
      title: "added later",
    });
    await http(node, userToken, "POST", `/v1/sessions/${session.id}/members`, {
      principalId: "py-agent-2",
    });
    await agent.line(new RegExp(`^joined ${session.id} from 0$`, "m"));
    const { socket, seen } = await watcher(node, "py-user-2", session.id);
    await call(socket, "message", {
      id: "ask-2",
      sessionId: session.id,
      type: "text",
      content: "hi",
    });
    await agent.until(() => repliesTo(seen, "ask-2").length === 1, "the agent's answer");
    expect(repliesTo(seen, "ask-2")[0]?.content).toBe("py-agent-2 heard py-user-2: hi");
  }, 30_000);

  it("after a cut mid-answer finishes that answer and the message it missed, each stored once", async () => {
    const userToken = await node.token("py-user-3", "user");
    const session = await http<{ id: string }>(node, userToken, "POST", "/v1/sessions", {
      title: "cut",
      members: ["py-agent-3"],
    });
    // Through the proxy, slow enough that the cut lands mid-answer.
    const agent = new AgentProcess(proxy.url, "py-agent-3", { AGENT_DELTA_DELAY: "0.15" });
    agents.push(agent);
    await agent.line(/^ready 1$/m);
    const { socket, seen } = await watcher(node, "py-user-3", session.id);

    const question = "one two three four five six seven eight";
    await call(socket, "message", {
      id: "ask-3",
      sessionId: session.id,
      type: "text",
      content: question,
    });
    await agent.until(() => seen.deltas.length >= 1, "the answer's first delta");
    proxy.refuse();
    proxy.cut();
    await agent.line(/^disconnected$/m);
    // Said while the agent is away: it must come back with lastSeq and find it.
    await call(socket, "message", {
      id: "ask-4",
      sessionId: session.id,
      type: "text",
      content: "still there?",
    });
    proxy.accept();

    await agent.until(
      () => repliesTo(seen, "ask-3").length >= 1 && repliesTo(seen, "ask-4").length >= 1,
      "both answers after the reconnect",
      20_000,
    );
    // The last delivery the agent causes is its ack'd answer: a ping flushes anything behind it.
    await agent.line(/^answered ask-4 /m);
    await call(socket, "ping", {});
    expect(repliesTo(seen, "ask-3")).toHaveLength(1);
    expect(repliesTo(seen, "ask-4")).toHaveLength(1);
    expect(repliesTo(seen, "ask-3")[0]?.content).toBe(`py-agent-3 heard py-user-3: ${question}`);
    expect(repliesTo(seen, "ask-4")[0]?.content).toBe("py-agent-3 heard py-user-3: still there?");

    const history = await http<{ messages: Seen["messages"] }>(
      node,
      userToken,
      "GET",
      `/v1/sessions/${session.id}/messages`,
    );
    const answers = history.messages.filter((m) => m.senderId === "py-agent-3");
    expect(answers.map((m) => m.replyTo).sort()).toEqual(["ask-3", "ask-4"]);
  }, 45_000);
});
