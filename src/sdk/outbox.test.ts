import { describe, expect, it } from "vitest";
import type { MessageInput } from "../protocol/schemas.js";
import { OutboxFullError } from "./errors.js";
import { Outbox } from "./outbox.js";
import {
  localStorageOutbox,
  memoryOutboxStorage,
  type OutboxEntry,
  type OutboxStorage,
  type WebStorageLike,
} from "./storage.js";

const message = (id: string): MessageInput => ({ id, sessionId: "s", content: id, type: "text" });
const entry = (id: string, order: number, principalId?: string): OutboxEntry => ({
  id,
  message: message(id),
  order,
  enqueuedAt: 0,
  namespace: "/clients",
  ...(principalId === undefined ? {} : { principalId }),
});

function outbox(storage: OutboxStorage = memoryOutboxStorage(), maxSize = 3) {
  return new Outbox({ storage, maxSize, namespace: "/clients", onStorageError: () => {} });
}

describe("Outbox", () => {
  it("rejects a new message at maxSize with OutboxFullError and queues nothing", async () => {
    const box = outbox();
    await box.restore("me");
    for (const id of ["a", "b", "c"]) void box.add(message(id));
    await expect(box.add(message("d"))).rejects.toBeInstanceOf(OutboxFullError);
    expect(box.ids()).toEqual(["a", "b", "c"]);
  });

  it("shares one promise between sends of the same id", async () => {
    const box = outbox();
    await box.restore("me");
    const first = box.add(message("a"));
    expect(box.add(message("a"))).toBe(first);
    expect(box.size).toBe(1);
  });

  it("queues restored entries of its principal first, oldest first, and leaves others' alone", async () => {
    const storage = memoryOutboxStorage();
    storage.put(entry("old-2", 2, "me"));
    storage.put(entry("old-1", 1, "me"));
    storage.put(entry("theirs", 0, "them"));
    const box = outbox(storage, 10);
    void box.add(message("new"));
    expect(await box.restore("me")).toBe(2);
    expect(box.ids()).toEqual(["old-1", "old-2", "new"]);
    const t = box.takeNext();
    box.complete(t?.id ?? "", { id: "old-1", seq: 1, createdAt: 0, duplicate: false });
    await box.flushStorage();
    expect((await storage.load()).map((e) => e.id).sort()).toEqual(["new", "old-2", "theirs"]);
  });

  it("writes to storage in call order, so a slow put is never overtaken by its delete", async () => {
    const log: string[] = [];
    const slow: OutboxStorage = {
      load: () => [],
      put: async (e) => {
        await new Promise((r) => setTimeout(r, 20));
        log.push(`put ${e.id}`);
      },
      delete: (id) => {
        log.push(`delete ${id}`);
      },
    };
    const box = outbox(slow);
    await box.restore("me");
    void box.add(message("a"));
    box.takeNext();
    box.complete("a", { id: "a", seq: 1, createdAt: 0, duplicate: false });
    await box.flushStorage();
    expect(log).toEqual(["put a", "delete a"]);
  });
});

describe("localStorageOutbox", () => {
  function fakeStorage(): WebStorageLike & { items: Map<string, string> } {
    const items = new Map<string, string>();
    return {
      items,
      get length() {
        return items.size;
      },
      key: (i) => [...items.keys()][i] ?? null,
      getItem: (k) => items.get(k) ?? null,
      setItem: (k, v) => void items.set(k, v),
      removeItem: (k) => void items.delete(k),
    };
  }

  it("keeps one item per entry under its key prefix and skips corrupt items", async () => {
    const web = fakeStorage();
    web.setItem("other-app", "{}");
    web.setItem("box:broken", "{not json");
    const storage = localStorageOutbox({ key: "box", storage: web });
    await storage.put(entry("a", 1));
    expect([...web.items.keys()].sort()).toEqual(["box:a", "box:broken", "other-app"]);
    expect((await storage.load()).map((e) => e.id)).toEqual(["a"]);
    await storage.delete("a");
    expect(await storage.load()).toEqual([]);
  });
});
