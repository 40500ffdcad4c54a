/**
 * Every link in README.md and docs/*.md resolves inside the repository, and every Markdown page
 * they name by file name exists: a reader never follows a reference into nothing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGES = [
  "README.md",
  "infra/README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

function resolves(page: string, target: string): boolean {
  const file = target.split("#")[0] ?? "";
  if (file === "") return true;
  return existsSync(path.join(ROOT, path.dirname(page), file)) || existsSync(path.join(ROOT, file));
}

describe.each(PAGES)("%s", (page) => {
  const text = readFileSync(path.join(ROOT, page), "utf8");

  it("links only to files that exist", () => {
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? "");
    const relative = links.filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith("#"));
    expect(relative.filter((l) => !resolves(page, l))).toEqual([]);
  });

  it("names only Markdown pages that exist", () => {
    const named = [...text.matchAll(/[\w./-]*[A-Za-z]\.md\b/g)].map((m) => m[0]);
    expect(named.filter((n) => !/^https?:/.test(n) && !resolves(page, n))).toEqual([]);
  });
});
