/**
 * Streams, Markdown and their marks in the web UI, in a real Chromium against a real gateway:
 * an agent (the SDK in this process) streams a Markdown answer into a session the page has
 * open; the page shows it growing in place and then the stored message, once, in the same DOM
 * element (no remount, so no flicker); an aborted stream says so. Screenshots of the growing
 * and the ended state go to test-results/ (gitignored).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayClient, type GatewayClient } from "../../src/sdk/index.js";
import { builtWebRoot, CHROMIUM, CHROMIUM_ARGS, recordPageErrors } from "../helpers/browser.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { FAST } from "../sdk-fixtures.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RESULTS = path.join(ROOT, "test-results");
const UI_TIMEOUT_MS = 8_000;

let node: TestGateway;
let browser: Browser;
let page: Page;
let agent: GatewayClient;
const pageErrors: string[] = [];

beforeAll(async () => {
  const webRoot = await builtWebRoot();
  await mkdir(RESULTS, { recursive: true });
  node = await startTestGateway({ webRoot });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  recordPageErrors(page, pageErrors);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await browser?.close();
  await node?.close();
});

const item = (id: string) => page.locator(`li.message[data-id="${id}"]`);

describe("web UI: streams and Markdown", () => {
  let sessionId: string;

  it("opens a session with an agent as member", async () => {
    await page.goto(node.url);
    await page.getByLabel("Display name").fill("Alice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('.status[data-status="connected"]').waitFor();
    await page.getByRole("button", { name: "Create session" }).click();
    sessionId = (await page.getByTestId("session-id").textContent()) ?? "";
    await page.getByLabel("Principal id to add").fill("bot");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator(".member-list code", { hasText: /^bot$/ }).waitFor();
    agent = createGatewayClient({
      ...FAST,
      url: node.url,
      namespace: "/agents",
      token: await node.token("bot", "agent"),
    });
    await agent.ready();
  });

  it("grows a streamed Markdown answer in place, then shows the stored message once in the same element", async () => {
    const stream = agent.stream(sessionId, { id: "answer-1", type: "markdown" });
    stream.write("Here is **the plan**:\n\n- first");
    const li = item(stream.id);
    await li.locator("strong", { hasText: "the plan" }).waitFor();
    expect(await li.getAttribute("data-stream")).toBe("open");
    expect(await li.locator(".stream-state").textContent()).toBe("Writing…");
    // Mark the element: if it is still the same node at the end, React never remounted it.
    await li.evaluate((el) => {
      (el as HTMLElement & { mark?: string }).mark = "kept";
    });

    stream.write("\n- second\n\n```ts\nconst answer = 42; // <b>not html</b>\n");
    await li.locator("pre.code-block .tok-keyword", { hasText: "const" }).waitFor();
    expect(await li.locator("li").allTextContents()).toEqual(["first", "second"]);
    await page.screenshot({ path: path.join(RESULTS, "web-streams-growing.png") });

    stream.write("```\n\nSee [the docs](https://example.com/docs) or [this](javascript:alert(1)).");
    const ack = await stream.end();
    await li.locator(".seq", { hasText: `#${ack.seq}` }).waitFor();
    expect(await item(stream.id).count()).toBe(1);
    expect(await li.getAttribute("data-stream")).toBeNull();
    expect(await li.locator(".stream-state").count()).toBe(0);
    expect(await li.evaluate((el) => (el as HTMLElement & { mark?: string }).mark)).toBe("kept");
    expect(await li.locator("a").count()).toBe(1);
    expect(await li.locator("a").getAttribute("href")).toBe("https://example.com/docs");
    expect(await li.locator("pre.code-block").textContent()).toBe(
      "const answer = 42; // <b>not html</b>",
    );
    expect(await page.locator("li.message b").count()).toBe(0);
    await page.screenshot({ path: path.join(RESULTS, "web-streams-ended.png") });
  });

  it("shows a stream already open when the page (re)joins, with its text so far, and goes on growing", async () => {
    const stream = agent.stream(sessionId, { id: "answer-3" });
    stream.write("written before the page came back");
    await item(stream.id).locator(".body", { hasText: "came back" }).waitFor();
    await page.reload();
    const li = item(stream.id);
    // Only the join answer can show it now: no delta is sent until the next write.
    await li.locator(".body", { hasText: "written before the page came back" }).waitFor();
    expect(await li.getAttribute("data-stream")).toBe("open");
    stream.write(", and after");
    await li.locator(".body", { hasText: "came back, and after" }).waitFor();
    await stream.end();
    await li.locator(".seq").waitFor();
    expect(await item(stream.id).count()).toBe(1);
  });

  it("marks a direct message to the user as such", async () => {
    const ids = await page
      .locator(".member-list li[data-principal]")
      .evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.principal ?? ""));
    const alice = ids.find((id) => id !== "bot");
    expect(alice).toBeDefined();
    const sent = await agent.send({
      id: "direct-1",
      sessionId,
      content: "just for you",
      type: "text",
      receiverId: alice,
      visibility: "direct",
    });
    const li = item("direct-1");
    await li.locator(".seq", { hasText: `#${sent.seq}` }).waitFor();
    expect(await li.locator(".badge-direct").textContent()).toBe("direct to you");
  });

  it("says so when a stream is aborted, and keeps what was written", async () => {
    const stream = agent.stream(sessionId, { id: "answer-2" });
    stream.write("I was about to say");
    const li = item(stream.id);
    await li.locator(".body", { hasText: "I was about to say" }).waitFor();
    await stream.abort("cancelled");
    await li.locator(".stream-state.aborted").waitFor();
    expect(await li.locator(".stream-state").textContent()).toBe(
      "Stopped before it was finished (cancelled)",
    );
    expect(await li.getAttribute("data-stream")).toBe("aborted");
    await page.screenshot({ path: path.join(RESULTS, "web-streams-aborted.png") });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  });
});
