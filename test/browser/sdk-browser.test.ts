/**
 * The browser build in a real Chromium: a page loads the bundled SDK (built here with
 * vite.sdk.config.ts), talks to a real gateway through the fault proxy, and keeps an unsent
 * message in localStorage across a reload.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/browser.js";
import { startTestGateway, type TestGateway, waitFor } from "../helpers/gateway.js";
import { type FaultProxy, startProxy } from "../helpers/proxy.js";
import { clientFactory, createSession, record } from "../sdk-fixtures.js";

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sdk test page</title>
<script type="module">
  import * as sdk from "/sdk.js";
  window.sdk = sdk;
  window.sdkLoaded = true;
</script>`;

let node: TestGateway;
let proxy: FaultProxy;
let browser: Browser;
let site: http.Server;
let siteUrl: string;
let buildDir: string;
const client = clientFactory();
const pages: Page[] = [];

/** What the test page keeps on `window`. */
interface PageState {
  sdk: typeof import("../../src/sdk/index.js");
  sdkLoaded?: boolean;
  client: import("../../src/sdk/index.js").GatewayClient;
  received: Array<{ seq: number; content: string; senderId: string }>;
  sent: Array<{ id: string; seq: number }>;
}

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), "tkr-sdk-browser-"));
  await build({
    configFile: path.resolve("vite.sdk.config.ts"),
    mode: "bundled",
    logLevel: "silent",
    build: { outDir: buildDir, emptyOutDir: true },
  });
  const bundle = await readFile(path.join(buildDir, "tkr-sdk.bundle.js"));
  site = http.createServer((req, res) => {
    if (req.url === "/sdk.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    } else if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  node = await startTestGateway();
  proxy = await startProxy(Number(new URL(node.url).port));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
}, 60_000);

afterEach(async () => {
  proxy.accept();
  await Promise.all(pages.splice(0).map((p) => p.context().close()));
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await node?.close();
  await new Promise((resolve) => site?.close(resolve));
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  pages.push(page);
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(siteUrl);
  await page.waitForFunction(() => (window as unknown as PageState).sdkLoaded === true);
  return page;
}

/** Creates the page's client (localStorage outbox) and records what it emits. */
async function startPageClient(
  page: Page,
  options: { url: string; token: string; sessionId: string },
) {
  await page.evaluate((o) => {
    const w = window as unknown as PageState;
    w.received = [];
    w.sent = [];
    w.client = w.sdk.createGatewayClient({
      url: o.url,
      namespace: "/clients",
      token: o.token,
      reconnection: { delayMs: 50, maxDelayMs: 300 },
      outbox: { storage: w.sdk.localStorageOutbox({ key: "test-outbox" }) },
    });
    w.client.on("message", (m) =>
      w.received.push({ seq: m.seq, content: m.content, senderId: m.senderId }),
    );
    w.client.on("sent", (r) => w.sent.push({ id: r.id, seq: r.seq }));
    void w.client.joinSession(o.sessionId);
  }, options);
}

describe("SDK in Chromium", () => {
  it("sends and receives from a page that loads the browser bundle", async () => {
    const session = await createSession(node, "wes", ["page-bot"]);
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("page-bot", "agent"),
    });
    const agentSaw = record(agent);
    await agent.joinSession(session.id);
    const page = await openPage();
    await startPageClient(page, {
      url: proxy.url,
      token: await node.token("wes", "user"),
      sessionId: session.id,
    });

    const result = await page.evaluate(
      (sessionId) =>
        (window as unknown as PageState).client.send({
          sessionId,
          content: "from the browser",
          type: "text",
        }),
      session.id,
    );
    expect(result).toMatchObject({ seq: 1, duplicate: false });
    await waitFor(() => agentSaw.messages.length === 1, 5_000, "the browser's message");
    expect(agentSaw.messages[0]).toMatchObject({ senderId: "wes", content: "from the browser" });

    await agent.send({ sessionId: session.id, content: "to the browser", type: "text" });
    await page.waitForFunction(() => (window as unknown as PageState).received.length === 2);
    const received = await page.evaluate(() => (window as unknown as PageState).received);
    expect(received).toEqual([
      { seq: 1, content: "from the browser", senderId: "wes" },
      { seq: 2, content: "to the browser", senderId: "page-bot" },
    ]);
    expect(await page.evaluate(() => (window as unknown as PageState).client.status)).toBe(
      "connected",
    );
  });

  it("sends after a reload a message that was typed offline and kept in localStorage", async () => {
    const session = await createSession(node, "xia", ["reload-bot"]);
    const agent = client({
      url: node.url,
      namespace: "/agents",
      token: await node.token("reload-bot", "agent"),
    });
    const agentSaw = record(agent);
    await agent.joinSession(session.id);
    const token = await node.token("xia", "user");
    const page = await openPage();

    proxy.refuse();
    await startPageClient(page, { url: proxy.url, token, sessionId: session.id });
    const id = await page.evaluate(async (sessionId) => {
      const w = window as unknown as PageState;
      void w.client.send({
        id: "typed-offline",
        sessionId,
        content: "typed offline",
        type: "text",
      });
      // Wait for the outbox's write, however long the page takes, rather than a fixed 50 ms.
      const stored = () => Object.keys(localStorage).find((k) => k.startsWith("test-outbox:"));
      const deadline = Date.now() + 5_000;
      while (stored() === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return stored();
    }, session.id);
    expect(id).toBe("test-outbox:typed-offline");
    expect(await page.evaluate(() => (window as unknown as PageState).client.status)).not.toBe(
      "connected",
    );

    await page.reload();
    await page.waitForFunction(() => (window as unknown as PageState).sdkLoaded === true);
    expect(
      await page.evaluate(() => localStorage.getItem("test-outbox:typed-offline")),
    ).not.toBeNull();
    proxy.accept();
    await startPageClient(page, { url: proxy.url, token, sessionId: session.id });

    await page.waitForFunction(() => (window as unknown as PageState).sent.length === 1);
    expect(await page.evaluate(() => (window as unknown as PageState).sent)).toEqual([
      { id: "typed-offline", seq: 1 },
    ]);
    await waitFor(
      () => agentSaw.messages.length === 1,
      5_000,
      "the message from before the reload",
    );
    expect(agentSaw.messages[0]).toMatchObject({ id: "typed-offline", content: "typed offline" });
    await page.waitForFunction(() => localStorage.getItem("test-outbox:typed-offline") === null);
  });
});
