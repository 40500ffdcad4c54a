import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypingEvent } from "../../src/protocol/index.js";
import { builtWebRoot, CHROMIUM, CHROMIUM_ARGS, recordPageErrors } from "../helpers/browser.js";
import { call, connect, startTestGateway, type TestGateway, waitFor } from "../helpers/gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCREENSHOT = "/tmp/web-ui.png";
const TYPING_SCREENSHOT = path.join(ROOT, "test-results", "web-ui-typing.png");
/** Long enough for a reconnect with socket.io-client's default backoff, short enough to fail. */
const UI_TIMEOUT_MS = 8_000;

let node: TestGateway;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  const webRoot = await builtWebRoot();
  node = await startTestGateway({ webRoot });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  recordPageErrors(page, pageErrors);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await node?.close();
});

const status = () => page.locator(".status");
const waitForStatus = (value: string) =>
  page.locator(`.status[data-status="${value}"]`).waitFor({ state: "visible" });
const messageWithSeq = (seq: number) => page.locator(`li.message[data-seq="${seq}"]`);

async function postAsAgent(sessionId: string, body: Record<string, unknown>) {
  const token = await node.token("bot", "agent");
  const res = await fetch(`${node.url}/v1/sessions/${sessionId}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { seq: number };
}

describe("web UI", () => {
  let sessionId: string;

  it("signs a user in with a display name and shows the connection as connected", async () => {
    await page.goto(node.url);
    await expect(status().getAttribute("data-status")).resolves.not.toBe("connected");
    await page.getByLabel("Display name").fill("Alice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForStatus("connected");
    expect(await status().textContent()).toContain("Connected");
    const stored = await page.evaluate(() => localStorage.getItem("tkr.identity.v1"));
    expect(JSON.parse(stored ?? "{}")).toMatchObject({ name: "Alice" });
  });

  it("creates a session, adds an agent as member and shows a sent message with its seq", async () => {
    await page.getByRole("button", { name: "Create session" }).click();
    sessionId = (await page.getByTestId("session-id").textContent()) ?? "";
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(page.url()).toContain(`#/s/${sessionId}`);

    await page.getByLabel("Principal id to add").fill("bot");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator(".member-list code", { hasText: /^bot$/ }).waitFor();

    const composer = page.getByLabel("Message", { exact: true });
    await composer.fill("hello");
    await composer.press("Shift+Enter");
    await composer.pressSequentially("from the browser");
    await composer.press("Enter");
    const first = messageWithSeq(1);
    await first.locator(".delivery.sent").waitFor();
    expect(await first.getAttribute("data-delivery")).toBe("sent");
    expect(await first.locator(".body").textContent()).toBe("hello\nfrom the browser");
    expect(await first.locator(".seq").textContent()).toBe("#1");
    expect(await first.locator(".badge-user").textContent()).toBe("user");
    expect(await composer.inputValue()).toBe("");
  });

  it("shows a message an agent posts over HTTP live, as text and never as markup", async () => {
    const content = "<b id=injected>not bold</b>\nconst x = 1;";
    const { seq } = await postAsAgent(sessionId, { id: "agent-msg-1", content, type: "code" });
    expect(seq).toBe(2);
    const second = messageWithSeq(2);
    await second.waitFor();
    expect(await second.getAttribute("data-sender")).toBe("bot");
    expect(await second.locator(".badge-agent").textContent()).toBe("agent");
    expect(await second.locator(".badge-type").textContent()).toBe("code");
    expect(await second.locator("pre code").textContent()).toBe(content);
    expect(await page.locator("#injected").count()).toBe(0);
  });

  it("shows reconnecting after a network drop, holds a message typed meanwhile as pending, then catches up and sends it", async () => {
    // Hold reconnecting sockets at the door until the message below is stored, so it can only
    // reach the page by catching up, not live.
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const clients = node.gateway.realtime.io.of("/clients");
    clients.use((_socket, next) => void gate.then(() => next()));

    // A network drop, not a server disconnect: close the transports under the sockets.
    for (const nsp of node.gateway.realtime.namespaces) {
      for (const socket of nsp.sockets.values()) socket.conn.close();
    }
    await waitForStatus("reconnecting");
    expect(await status().textContent()).toContain("Reconnecting");

    await postAsAgent(sessionId, {
      id: "agent-msg-2",
      content: "sent while you were away",
      type: "text",
    });
    expect(await messageWithSeq(3).count()).toBe(0);
    const composer = page.getByLabel("Message", { exact: true });
    await composer.fill("typed while offline");
    await composer.press("Enter");
    await page.locator('li.message[data-delivery="pending"]', { hasText: "Sending…" }).waitFor();
    open();

    await waitForStatus("connected");
    const third = messageWithSeq(3);
    await third.waitFor();
    expect(await third.locator(".body").textContent()).toBe("sent while you were away");
    const fourth = messageWithSeq(4);
    await fourth.locator(".delivery.sent").waitFor();
    expect(await fourth.locator(".body").textContent()).toBe("typed while offline");
    expect(await page.locator('li.message[data-delivery="pending"]').count()).toBe(0);
    const seqs = await page
      .locator("li.message")
      .evaluateAll((items) => items.map((li) => Number(li.getAttribute("data-seq"))));
    expect(seqs).toEqual([1, 2, 3, 4]);
  });

  it("replaces a remembered token the gateway refuses, keeping the user and the open session", async () => {
    const key = "tkr.identity.v1";
    const before = JSON.parse((await page.evaluate((k) => localStorage.getItem(k), key)) ?? "{}");
    // What a user finds after the gateway restarted with a new dev-token secret.
    await page.evaluate(([k, value]) => localStorage.setItem(k, value), [
      key,
      JSON.stringify({ ...before, token: "no.longer.valid" }),
    ] as const);
    await page.reload();
    await waitForStatus("connected");
    const after = JSON.parse((await page.evaluate((k) => localStorage.getItem(k), key)) ?? "{}");
    expect(after.sub).toBe(before.sub);
    expect(after.token).not.toBe("no.longer.valid");
    await messageWithSeq(4).waitFor();
    expect(await page.locator("li.message").count()).toBe(4);
    expect(await messageWithSeq(1).getAttribute("class")).toContain("own");

    await page.screenshot({ path: SCREENSHOT });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  });

  it("shows who else is typing under the conversation, and tells the others while this user writes", async () => {
    const identity = JSON.parse(
      (await page.evaluate(() => localStorage.getItem("tkr.identity.v1"))) ?? "{}",
    ) as { sub: string };
    await node.gateway.messaging.addMember({ id: identity.sub, kind: "user" }, sessionId, "bob");
    const bob = await connect(node.url, "/clients", {
      token: await node.gateway.tokens.sign({ sub: "bob", kind: "user", name: "Bob" }),
    });
    try {
      await call(bob, "join_session", { sessionId });
      const bobSaw: TypingEvent[] = [];
      bob.on("typing", (event: TypingEvent) => bobSaw.push(event));

      await call(bob, "typing", { sessionId, state: "start" });
      const line = page.getByTestId("typing");
      await page.getByTestId("typing").filter({ hasText: "Bob is typing…" }).waitFor();
      await page.screenshot({ path: TYPING_SCREENSHOT });
      await call(bob, "typing", { sessionId, state: "stop" });
      await page.waitForFunction(
        () => document.querySelector('[data-testid="typing"]')?.textContent === "",
      );
      expect(await line.textContent()).toBe("");

      const composer = page.getByLabel("Message", { exact: true });
      await composer.pressSequentially("hm");
      await waitFor(() => bobSaw.length >= 1, UI_TIMEOUT_MS, "the page's typing start");
      await composer.fill("");
      await waitFor(() => bobSaw.length >= 2, UI_TIMEOUT_MS, "the page's typing stop");
      expect(bobSaw.map((e) => [e.principalId, e.name, e.state])).toEqual([
        [identity.sub, "Alice", "start"],
        [identity.sub, "Alice", "stop"],
      ]);
    } finally {
      bob.disconnect();
    }
  });

  it("runs the web UI and Swagger UI under their Content-Security-Policy with no violation", async () => {
    const fresh = await browser.newPage();
    fresh.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      const violations: string[] = [];
      await fresh.exposeFunction("reportViolation", (v: string) => violations.push(v));
      await fresh.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          (window as unknown as { reportViolation(v: string): void }).reportViolation(
            `${e.violatedDirective} ${e.blockedURI}`,
          );
        });
      });
      fresh.on("console", (msg) => {
        if (msg.text().includes("Content Security Policy")) violations.push(msg.text());
      });

      const ui = await fresh.goto(`${node.url}/`);
      expect(ui?.headers()["content-security-policy"]).toContain("script-src 'self'");
      await fresh.locator("form").first().waitFor({ state: "visible" });

      const docs = await fresh.goto(`${node.url}/docs`);
      expect(docs?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
      // Rendered by the inline init script and the bundle: the spec's title and its operations.
      await fresh.locator(".swagger-ui .info .title").waitFor({ state: "visible" });
      await fresh.locator(".swagger-ui .opblock").first().waitFor({ state: "visible" });
      expect(violations).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});
