/**
 * The dev-token signing secret when AUTH_JWT_SECRET is unset, kept in DATA_DIR (mode 0600) so a
 * restart does not sign everybody out: every token it issued stays valid across restarts.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const FILE = "dev-jwt-secret";

export function loadDevSecret(dataDir: string): string {
  const file = path.join(dataDir, FILE);
  try {
    const kept = readFileSync(file, "utf8").trim();
    if (kept.length >= 32) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = randomBytes(32).toString("hex");
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  chmodSync(file, 0o600);
  return secret;
}
