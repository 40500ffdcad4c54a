/**
 * What "a database write" means in the bench: a statement that changes rows (INSERT, UPDATE,
 * DELETE or MERGE, also inside a WITH), named by the tables it changes.
 */
const WRITE =
  /^\s*(insert|update|delete|merge)\b|^\s*with\b[\s\S]*\b(insert\s+into|update\s+"?\w+"?\s+(?:(?:as\s+)?\w+\s+)?set|delete\s+from)\b/i;

export function isWrite(sql: string): boolean {
  return WRITE.test(sql);
}

/** The tables a write statement changes, e.g. "insert messages, update sessions". */
export function writeTargets(sql: string): string {
  const targets = new Set<string>();
  for (const m of sql.matchAll(/\b(insert\s+into|update|delete\s+from)\s+"?(\w+)"?/gi)) {
    // `for update` (a row lock) is followed by a parenthesis or `of`, never a table and `set`.
    if (
      /^update$/i.test(m[1] ?? "") &&
      !/^\s*"?\w+"?\s+(?:(?:as\s+)?\w+\s+)?set\b/i.test(sql.slice((m.index ?? 0) + 6))
    )
      continue;
    targets.add(`${(m[1] ?? "").split(/\s+/)[0]?.toLowerCase()} ${m[2]}`);
  }
  return [...targets].join(", ") || sql.replace(/\s+/g, " ").trim().slice(0, 60);
}
