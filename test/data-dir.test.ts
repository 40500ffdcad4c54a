/**
 * As root, the default data directory moves to a folder the `postgres` user can enter when the
 * checkout sits in one it cannot (a clone under /root); an explicit DATA_DIR never moves.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chooseDataDir, reachableBy } from "../src/db/data-dir.js";

const asRoot = process.getuid?.() === 0;
let privateFolder: string;

afterAll(async () => {
  if (privateFolder) await rm(privateFolder, { recursive: true, force: true });
});

describe("chooseDataDir", () => {
  it("keeps a default data directory whose parents everyone may enter", () => {
    const dataDir = path.join(os.tmpdir(), "tkr-reachable", ".data");
    expect(chooseDataDir(dataDir, { explicit: false })).toEqual({ dataDir });
  });

  it("moves the default out of a 0700 folder when running as root, keyed by its path", async () => {
    privateFolder = await mkdtemp(path.join(os.tmpdir(), "tkr-private-"));
    const dataDir = path.join(privateFolder, "checkout", ".data");
    expect(reachableBy(dataDir, { uid: 65_000, gid: 65_000 })).toBe(false);
    const choice = chooseDataDir(dataDir, { explicit: false, fallbackRoot: "/var/lib/tkr-test" });
    if (!asRoot) return expect(choice).toEqual({ dataDir });
    expect(choice.movedFrom).toBe(dataDir);
    expect(choice.dataDir.startsWith("/var/lib/tkr-test/checkout-")).toBe(true);
    expect(reachableBy(choice.dataDir, { uid: 65_000, gid: 65_000 })).toBe(true);
    // Same checkout, same place on every start.
    expect(chooseDataDir(dataDir, { explicit: false, fallbackRoot: "/var/lib/tkr-test" })).toEqual(
      choice,
    );
    // DATA_DIR set by the operator: their choice, and the clear error if Postgres cannot reach it.
    expect(chooseDataDir(dataDir, { explicit: true })).toEqual({ dataDir });
  });
});
