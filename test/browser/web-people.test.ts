import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_PAGE_SIZE } from "../../src/web/use-session-list.js";
import { builtWebRoot, CHROMIUM, CHROMIUM_ARGS } from "../helpers/browser.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const shot = (name: string) => path.join(ROOT, "test-results", `web-people-${name}.png`);
const UI_TIMEOUT_MS = 8_000;
/** More than two pages of the UI's history (50 a page), so scrolling up reads twice. */
const HISTORY = 120;

let node: TestGateway;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
let alice: Page;
let bob: Page;
let aliceId: string;
let bobId: string;
let sessionId: string;

async function openPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      pageErrors.push(msg.text());
    }
  });
  return page;
}

async function signIn(page: Page, name: string): Promise<string> {
  await page.goto(node.url);
  await page.getByLabel("Display name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('.status[data-status="connected"]').waitFor();
  const stored = await page.evaluate(() => localStorage.getItem("tkr.identity.v1"));
  return (JSON.parse(stored ?? "{}") as { sub: string }).sub;
}

/** What a tab switch does to the page: Chromium has no switch to make a headless page hidden. */
async function setVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, "visibilityState", {
      configurable: true,
      get: () => (value ? "visible" : "hidden"),
    });
    document.dispatchEvent(new Event("visibilitychange"));
  }, visible);
}

const message = (page: Page, seq: number) => page.locator(`li.message[data-seq="${seq}"]`);
const member = (page: Page, principalId: string, presence?: "online" | "offline") =>
  page.locator(
    `.member-list li[data-principal="${principalId}"]${presence ? `[data-presence="${presence}"]` : ""}`,
  );
const sessionRow = (page: Page) => page.locator(`.session-rows li[data-session-id="${sessionId}"]`);

beforeAll(async () => {
  const webRoot = await builtWebRoot();
  node = await startTestGateway({ webRoot });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  [alice, bob] = await Promise.all([openPage(), openPage()]);
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await node?.close();
});

describe("web UI: people", () => {
  it("lists a session on the invited user's home screen as it is created, and counts its unread messages live", async () => {
    [aliceId, bobId] = await Promise.all([signIn(alice, "Alice"), signIn(bob, "Bob")]);
    await bob.getByText("No sessions yet").waitFor();

    await alice.getByLabel("Title (optional)").fill("Team chat");
    await alice.getByLabel("Invite principal ids (optional)").fill(bobId);
    await alice.getByRole("button", { name: "Create session" }).click();
    sessionId = (await alice.getByTestId("session-id").textContent()) ?? "";
    expect(sessionId).not.toBe("");

    // session:added, no reload
    await sessionRow(bob).waitFor();
    expect(await sessionRow(bob).locator(".session-row-title").textContent()).toBe("Team chat");
    expect(await sessionRow(bob).getAttribute("data-unread")).toBe("0");

    // Alice's history, stored through the gateway's messaging core all at once (the appends
    // share commits), so in any order.
    const author = { id: aliceId, kind: "user" as const, name: "Alice" };
    const stored = await Promise.all(
      Array.from({ length: HISTORY }, (_, i) =>
        node.gateway.messaging.sendMessage(author, {
          id: `history-${i + 1}`,
          sessionId,
          type: "text",
          content: `history ${i + 1}`,
        }),
      ),
    );
    expect(Math.max(...stored.map((r) => r.seq))).toBe(HISTORY);
    await bob
      .locator(`.session-rows li[data-session-id="${sessionId}"][data-unread="${HISTORY}"]`)
      .waitFor();
    expect(await sessionRow(bob).locator(".unread-count").textContent()).toBe("99+");
    await bob.screenshot({ path: shot("session-list") });
  });

  it("opens the newest page, and reads older pages as the reader scrolls up without the view jumping", async () => {
    await sessionRow(bob).locator("button").click();
    await message(bob, HISTORY).waitFor();
    await message(bob, HISTORY - 49).waitFor();
    expect(await message(bob, HISTORY - 50).count()).toBe(0);

    const scroller = bob.locator(".message-scroller");
    const anchor = message(bob, HISTORY - 49);
    const offset = () =>
      anchor.evaluate((li) => {
        const box = li.closest(".message-scroller")?.getBoundingClientRect();
        return li.getBoundingClientRect().top - (box?.top ?? 0);
      });
    await scroller.evaluate((el) => {
      el.scrollTop = 0;
    });
    const before = await offset();
    await message(bob, HISTORY - 99).waitFor();
    // The message that was at the top is where it was, the new page above it.
    expect(Math.abs((await offset()) - before)).toBeLessThan(2);

    await scroller.evaluate((el) => {
      el.scrollTop = 0;
    });
    await bob
      .getByTestId("history-edge")
      .filter({ hasText: "Beginning of the conversation" })
      .waitFor();
    const seqs = await bob
      .locator("li.message")
      .evaluateAll((items) => items.map((li) => Number(li.getAttribute("data-seq"))));
    expect(seqs).toEqual(Array.from({ length: HISTORY }, (_, i) => i + 1));
    // The reader's place was kept; for the picture, up to where the history begins.
    await scroller.evaluate((el) => {
      el.scrollTop = 0;
    });
    await bob.screenshot({ path: shot("history") });
  });

  it("shows under the sender's latest message that it reached the other user, then that they read it", async () => {
    // Bob's tab in the background: his page receives the message but does not show it.
    await setVisible(bob, false);
    const composer = alice.getByLabel("Message", { exact: true });
    await composer.fill("did you see the history?");
    await composer.press("Enter");
    const latest = message(alice, HISTORY + 1);
    await message(bob, HISTORY + 1).waitFor({ state: "attached" });
    await latest.getByTestId("receipt").filter({ hasText: "Delivered to Bob" }).waitFor();
    await alice.screenshot({ path: shot("delivered") });

    // Bob comes back to the tab: it is shown, so it is read.
    await setVisible(bob, true);
    await latest.getByTestId("receipt").filter({ hasText: "Read by Bob" }).waitFor();
    // Only the latest own message carries the line.
    expect(await message(alice, HISTORY).getByTestId("receipt").count()).toBe(0);
    await alice.screenshot({ path: shot("read-receipt") });
  });

  it("shows the other user typing, and their message under their name when sent", async () => {
    const composer = bob.getByLabel("Message", { exact: true });
    await composer.pressSequentially("on my way");
    await alice.getByTestId("typing").filter({ hasText: "Bob is typing…" }).waitFor();
    await alice.screenshot({ path: shot("typing") });
    await composer.press("Enter");
    await message(alice, HISTORY + 2).waitFor();
    await alice.waitForFunction(
      () => document.querySelector('[data-testid="typing"]')?.textContent === "",
    );
    expect(
      await message(alice, HISTORY + 2)
        .locator(".sender")
        .textContent(),
    ).toBe("Bob");
    expect(await message(bob, 1).locator(".sender").textContent()).toBe("Alice");
  });

  it("shows both users online, by name, in each one's member list", async () => {
    for (const page of [alice, bob]) {
      await member(page, aliceId, "online").waitFor();
      await member(page, bobId, "online").waitFor();
    }
    expect(await member(alice, bobId).locator(".person-name").textContent()).toBe("Bob");
    expect(await member(bob, aliceId).locator(".person-name").textContent()).toBe("Alice");
    await alice.screenshot({ path: shot("presence") });
  });

  it("shows a user offline to the other once their page is gone", async () => {
    await bob.close();
    await member(alice, bobId, "offline").waitFor();
    expect(await member(alice, aliceId).getAttribute("data-presence")).toBe("online");
    await alice.screenshot({ path: shot("offline") });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  });

  it("lists a user's sessions a page at a time, the next on request", async () => {
    const carol = { id: "carol", kind: "user" as const };
    for (let i = 0; i < SESSION_PAGE_SIZE; i++) {
      await node.gateway.messaging.createSession(carol, { title: `more ${i}`, members: [aliceId] });
    }
    await alice.getByRole("button", { name: "← All sessions" }).click();
    const rows = alice.locator(".session-rows li");
    await alice.reload();
    await alice.getByRole("button", { name: "Load more" }).waitFor();
    expect(await rows.count()).toBe(SESSION_PAGE_SIZE);
    await alice.getByRole("button", { name: "Load more" }).click();
    await rows.nth(SESSION_PAGE_SIZE).waitFor();
    expect(await rows.count()).toBe(SESSION_PAGE_SIZE + 1);
    expect(await alice.getByRole("button", { name: "Load more" }).count()).toBe(0);
    // The oldest activity last: the session with the conversation in it.
    expect(await rows.last().getAttribute("data-session-id")).toBe(sessionId);
  });
});
