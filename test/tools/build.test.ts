/**
 * `npm run build` makes a gateway that runs from compiled JavaScript alone, and an SDK that a
 * package user imports with plain Node (no tsx, no TypeScript): the way production and other
 * projects use them. Slow (tsc and Vite), hence `npm run test:tools`.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ChildGateway, ROOT, startChildGateway } from "../helpers/child-gateway.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const run = promisify(execFile);
let db: TestDatabase;
let gateway: ChildGateway | undefined;
let consumer: string;

beforeAll(async () => {
  await run("npm", ["run", "build"], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 });
  db = await createTestDatabase();
}, 300_000);

afterAll(async () => {
  if (gateway && gateway.proc.exitCode === null) await gateway.stop("SIGTERM");
  await db?.drop();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

it("node dist/main.js serves /healthz, the web UI and the SDK bundle from compiled code", async () => {
  gateway = await startChildGateway({
    args: ["dist/main.js"],
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: "tools-test-secret-0123456789-abcdefghij",
      LOG_FORMAT: "json",
    },
  });
  const health = await fetch(`${gateway.url}/healthz`);
  expect(await health.json()).toEqual({ status: "ok" });
  const ui = await fetch(`${gateway.url}/`);
  expect(ui.headers.get("content-type")).toMatch(/text\/html/);
  const bundle = await fetch(`${gateway.url}/tkr-sdk.bundle.js`);
  expect(bundle.status).toBe(200);
  expect(bundle.headers.get("content-type")).toMatch(/javascript/);
  // No TypeScript loader in the process: it ran what tsc emitted.
  expect(gateway.proc.spawnargs).not.toContain("tsx");
  expect((await gateway.stop("SIGTERM")).code).toBe(0);
});

it("npm start's script rebuilds a stale web UI with Vite before it serves", async () => {
  // A fresh clone has no dist/web; an old build looks the same to the staleness check.
  const index = path.join(ROOT, "dist/web/index.html");
  await utimes(index, 0, 0);
  gateway = await startChildGateway({
    args: ["scripts/start.mjs"],
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: "tools-test-secret-0123456789-abcdefghij",
      LOG_FORMAT: "json",
    },
  });
  expect((await stat(index)).mtimeMs).toBeGreaterThan(0);
  const ui = await fetch(`${gateway.url}/`);
  expect(ui.headers.get("content-type")).toMatch(/text\/html/);
  expect((await gateway.stop("SIGTERM")).code).toBe(0);
}, 120_000);

it("the SDK imports as tkr-gateway/sdk in a project of its own, with plain Node", async () => {
  consumer = await mkdtemp(path.join(os.tmpdir(), "tkr-sdk-user-"));
  await mkdir(path.join(consumer, "node_modules"));
  await symlink(ROOT, path.join(consumer, "node_modules", "tkr-gateway"), "dir");
  await writeFile(
    path.join(consumer, "use.mjs"),
    'const sdk = await import("tkr-gateway/sdk");\n' +
      "console.log(typeof sdk.createGatewayClient, typeof sdk.connectAgent);\n",
  );
  const { stdout } = await run(process.execPath, ["use.mjs"], { cwd: consumer });
  expect(stdout.trim()).toBe("function function");

  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, { types: string; import: string }>;
  };
  const sdk = pkg.exports["./sdk"] as { types: string; import: string };
  expect(existsSync(path.join(ROOT, sdk.types))).toBe(true);
  expect(readFileSync(path.join(ROOT, sdk.types), "utf8")).toMatch(/createGatewayClient/);
});
