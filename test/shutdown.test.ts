/**
 * Shutdown of a real gateway process (SIGTERM): it must exit 0 within SHUTDOWN_GRACE_MS + 1 s
 * whatever its clients do, and every standard client must reconnect by itself afterwards.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as connectTcp, type Socket } from "node:net";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { type ChildGateway, ROOT, startChildGateway } from "./helpers/child-gateway.js";
import { createTestDatabase, type TestDatabase } from "./helpers/db.js";

const GRACE_MS = 2_000;
const SECRET = "shutdown-test-secret-0123456789-abcdefgh";
const WEB_ROOT = path.join(ROOT, "dist/web");

let db: TestDatabase;
let browser: Browser | undefined;
const children: ChildGateway[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // The gateway serves the UI from dist/web, as `npm start` builds it.
  if (!existsSync(path.join(WEB_ROOT, "index.html"))) {
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      await build({ configFile: path.join(ROOT, "vite.config.ts"), logLevel: "warn" });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children) child.proc.kill("SIGKILL");
  await db?.drop();
});

async function start(port = 0): Promise<ChildGateway> {
  const child = await startChildGateway({
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: SECRET,
      AUTH_DEV_TOKENS: "true",
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_FORMAT: "json",
    },
  });
  children.push(child);
  return child;
}

async function devToken(url: string, sub: string): Promise<string> {
  const res = await fetch(`${url}/v1/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, kind: "user" }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** Completes a WebSocket upgrade, then never reads or answers again (a half-open peer). */
function halfOpenWebSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1", () => {
      socket.write(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
          `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    socket.once("error", reject);
    socket.once("data", (chunk) => {
      expect(chunk.toString("latin1")).toMatch(/^HTTP\/1.1 101/);
      socket.pause();
      resolve(socket);
    });
  });
}

describe("SIGTERM", () => {
  it("exits 0 within the grace while a signed-in browser keeps its connections", async () => {
    const gateway = await start();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    const page = await browser.newPage();
    await page.goto(gateway.url);
    await page.getByLabel("Display name").fill("Alice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('.status[data-status="connected"]').waitFor({ state: "visible" });

    const { code, ms } = await gateway.stop("SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(GRACE_MS + 1_000);
  }, 60_000);

  it("exits 0 within the grace while a WebSocket peer never answers", async () => {
    const gateway = await start();
    const peer = await halfOpenWebSocket(gateway.port);
    const { code, ms } = await gateway.stop("SIGTERM");
    peer.destroy();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(GRACE_MS + 1_000);
  }, 30_000);
});

describe("python-socketio reconnects by itself after a restart", () => {
  for (const transport of ["polling", "websocket"]) {
    it(`over ${transport}`, async () => {
      const port = await freePort();
      const first = await start(port);
      const token = await devToken(first.url, `py-${transport}`);
      const python = spawn(
        "/usr/bin/python3",
        [path.join(ROOT, "examples/python/reconnect_client.py"), first.url, token, transport, "2"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      const exited = new Promise<number | null>((resolve) => python.once("exit", resolve));
      const saw = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => out.includes(text) && resolve();
          python.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            check();
          });
          python.stderr.on("data", (chunk: Buffer) => {
            out += chunk.toString();
          });
          void exited.then(() => (out.includes(text) ? resolve() : reject(new Error(out))));
          check();
        });
      try {
        await saw("connected 1");
        expect((await first.stop("SIGTERM")).code).toBe(0);
        await start(port);
        await saw("connected 2");
        expect(await exited).toBe(0);
      } finally {
        python.kill("SIGKILL");
      }
    }, 60_000);
  }
});
