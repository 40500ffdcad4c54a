/**
 * Restarts of a real gateway process on the embedded Postgres: after kill -9 the orphaned
 * postmaster is stopped and the next start comes up on the same DATA_DIR with every
 * acknowledged message, and a dev token issued before the restart still works after it.
 */
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { type ChildGateway, startChildGateway } from "./helpers/child-gateway.js";

let dataDir: string;
const children: ChildGateway[] = [];

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.stop("SIGTERM");
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function start(): Promise<ChildGateway> {
  // No DATABASE_URL and no AUTH_JWT_SECRET: the newcomer's default, embedded Postgres and dev tokens.
  const child = await startChildGateway({
    env: { PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_FORMAT: "json" },
    timeoutMs: 60_000,
  });
  children.push(child);
  return child;
}

async function call<T>(url: string, method: string, token: string | undefined, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("restarts after kill -9 on the same DATA_DIR with acked messages and dev tokens intact", async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "tkr-restart-"));
  const first = await start();
  const { body: issued } = await call<{ token: string }>(
    `${first.url}/v1/dev/token`,
    "POST",
    undefined,
    {
      sub: "alice",
      kind: "user",
    },
  );
  const token = issued.token;
  const session = await call<{ id: string }>(`${first.url}/v1/sessions`, "POST", token, {});
  expect(session.status).toBe(201);
  for (const n of [1, 2, 3]) {
    const sent = await call(`${first.url}/v1/sessions/${session.body.id}/messages`, "POST", token, {
      id: `m-${n}`,
      content: `acked ${n}`,
      type: "text",
    });
    expect(sent.status).toBe(201);
  }
  const secretFile = path.join(dataDir, "dev-jwt-secret");
  expect(statSync(secretFile).mode & 0o777).toBe(0o600);

  const postmaster = Number(
    readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0],
  );
  expect((await first.stop("SIGKILL")).code).toBe(null);
  // The crash left Postgres running: the situation the next start must handle.
  expect(alive(postmaster)).toBe(true);

  const second = await start();
  expect(second.startMs).toBeLessThan(30_000);
  console.log(`restart after kill -9: gateway listening after ${second.startMs} ms`);
  expect(alive(postmaster)).toBe(false);

  // The token from before the crash is still good, and every acked message is there.
  const read = await call<{ messages: { id: string; content: string }[] }>(
    `${second.url}/v1/sessions/${session.body.id}/messages`,
    "GET",
    token,
  );
  expect(read.status).toBe(200);
  expect(read.body.messages.map((m) => m.content)).toEqual(["acked 1", "acked 2", "acked 3"]);
  expect((await second.stop("SIGTERM")).code).toBe(0);
}, 120_000);
