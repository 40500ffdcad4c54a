/**
 * A small Markdown parser for chat messages: it builds a tree that `markdown-view.tsx` turns into
 * React elements, so no message ever becomes HTML. Raw HTML in the text stays text, and a link
 * keeps its target only when the URL parser says it is http, https or mailto.
 *
 * Supported: ATX headings, fenced code blocks (an unclosed fence runs to the end, which is what a
 * message still being streamed looks like), block quotes, bullet and numbered lists (nested by
 * indentation), thematic breaks, paragraphs with line breaks; inline code, `**strong**`,
 * `*em*`/`_em_`, `~~strike~~`, `[text](url)`, `<url>` and bare http(s) URLs. Tables and images
 * stay text (an image becomes a link to it, so no request leaves the page by itself).
 *
 * Hostile input costs time linear in its length: every search for a closing delimiter starts
 * where the last one stopped or is bounded, and nesting deeper than MAX_DEPTH stays text.
 */

export type Inline =
  | { t: "text"; text: string }
  | { t: "code"; text: string }
  | { t: "em" | "strong" | "del"; children: Inline[] }
  | { t: "link"; href: string; children: Inline[] }
  | { t: "br" };

export type Block =
  | { t: "p"; children: Inline[] }
  | { t: "h"; level: 1 | 2 | 3 | 4 | 5 | 6; children: Inline[] }
  | { t: "code"; lang: string; text: string }
  | { t: "quote"; blocks: Block[] }
  | { t: "list"; ordered: boolean; start: number; items: Block[][] }
  | { t: "hr" };

const MAX_DEPTH = 12;
/** Longest link target looked at; past it the brackets stay text. */
const MAX_URL = 2048;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** The normalized URL when it is http, https or mailto; undefined for anything else. */
export function safeHref(raw: string): string | undefined {
  try {
    // The URL parser strips tabs and newlines and lowercases the scheme the way browsers do, so
    // "java\tscript:" or "JAVASCRIPT:" is recognised for what it is.
    const url = new URL(raw.trim());
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined; // relative or malformed: no target
  }
}

export function parseMarkdown(source: string): Block[] {
  return parseBlocks(source.replace(/\r\n?/g, "\n").split("\n"), 0);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const HR = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;

function parseBlocks(lines: string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === "") {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] as string;
      const body: string[] = [];
      i++;
      while (i < lines.length && !isClosingFence(lines[i] as string, marker)) {
        body.push(lines[i] as string);
        i++;
      }
      i++; // the closing fence, or past the end
      blocks.push({ t: "code", lang: fence[2] ?? "", text: body.join("\n") });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = (heading[1] as string).length as 1 | 2 | 3 | 4 | 5 | 6;
      blocks.push({ t: "h", level, children: parseInline(heading[2] ?? "", depth) });
      i++;
      continue;
    }
    if (HR.test(line)) {
      blocks.push({ t: "hr" });
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const inner: string[] = [];
      while (i < lines.length) {
        const quoted = QUOTE.exec(lines[i] as string);
        if (!quoted) break;
        inner.push(quoted[1] as string);
        i++;
      }
      blocks.push({ t: "quote", blocks: parseBlocks(inner, depth + 1) });
      continue;
    }
    const item = ITEM.exec(line);
    if (item && depth < MAX_DEPTH) {
      i = parseList(lines, i, depth, blocks);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length) {
      const next = lines[i] as string;
      if (next.trim() === "" || (para.length > 0 && startsBlock(next))) break;
      para.push(next);
      i++;
    }
    blocks.push({ t: "p", children: parseInline(para.join("\n"), depth) });
  }
  return blocks;
}

function isClosingFence(line: string, marker: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith(marker) && /^(`+|~+)$/.test(trimmed) && trimmed[0] === marker[0];
}

function startsBlock(line: string): boolean {
  return (
    FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line) || ITEM.test(line)
  );
}

/** Reads one list starting at `start`; returns the index of the first line after it. */
function parseList(lines: string[], start: number, depth: number, out: Block[]): number {
  const first = ITEM.exec(lines[start] as string) as RegExpExecArray;
  const indent = (first[1] as string).length;
  const ordered = /\d/.test(first[2] as string);
  const items: Block[][] = [];
  let i = start;
  while (i < lines.length) {
    const item = ITEM.exec(lines[i] as string);
    if (!item || (item[1] as string).length !== indent || /\d/.test(item[2] as string) !== ordered)
      break;
    const contentIndent = indent + (item[2] as string).length + 1;
    const body = [item[3] as string];
    i++;
    while (i < lines.length) {
      const next = lines[i] as string;
      if (next.trim() === "") {
        // A blank line ends the item unless indented content follows it.
        const after = lines[i + 1];
        if (after === undefined || leadingSpaces(after) < contentIndent - 1) break;
        body.push("");
        i++;
        continue;
      }
      const nextItem = ITEM.exec(next);
      if (nextItem && (nextItem[1] as string).length <= indent) break;
      if (leadingSpaces(next) === 0 && startsBlock(next)) break;
      body.push(next.slice(Math.min(leadingSpaces(next), contentIndent)));
      i++;
    }
    items.push(parseBlocks(body, depth + 1));
  }
  const startNumber = ordered ? Number.parseInt(first[2] as string, 10) : 1;
  out.push({ t: "list", ordered, start: startNumber, items });
  return i;
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!~<>|"'&]/;
const AUTOLINK = /<((?:https?:\/\/|mailto:)[^\s<>]+)>/y;
const BARE_URL = /https?:\/\/[^\s<>]*[^\s<>.,:;"')\]!?*_~]/y;

export function parseInline(text: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let buffer = "";
  const flush = () => {
    if (buffer !== "") out.push({ t: "text", text: buffer });
    buffer = "";
  };
  const brackets = matchBrackets(text);
  // Searches go left to right, so the last answer stays good until `from` passes it.
  let paren = { from: 0, at: -2 };
  const nextParen = (from: number) => {
    if (paren.at === -2 || from < paren.from || (paren.at >= 0 && from > paren.at)) {
      paren = { from, at: text.indexOf(")", from) };
    }
    return paren.at;
  };
  // Per delimiter, where a search for a closer found none: no later search can find one either.
  const failedFrom = new Map<string, number>();
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "\\" && i + 1 < text.length) {
      const next = text[i + 1] as string;
      if (next === "\n") {
        flush();
        out.push({ t: "br" });
        i += 2;
        continue;
      }
      if (ESCAPABLE.test(next)) {
        buffer += next;
        i += 2;
        continue;
      }
    }
    if (c === "\n") {
      flush();
      out.push({ t: "br" });
      i++;
      continue;
    }
    if (c === "`") {
      const run = runOf(text, i, "`");
      const close = text.indexOf(run, i + run.length);
      if (close > 0 && text[close + run.length] !== "`") {
        flush();
        const inner = text.slice(i + run.length, close).replace(/\n/g, " ");
        const trimmed = /^ .*[^ ].* $/.test(inner) ? inner.slice(1, -1) : inner;
        out.push({ t: "code", text: trimmed });
        i = close + run.length;
        continue;
      }
      buffer += run;
      i += run.length;
      continue;
    }
    if (c === "[" || (c === "!" && text[i + 1] === "[")) {
      const open = c === "!" ? i + 1 : i;
      const link = readLink(text, open, brackets, nextParen);
      if (link && depth < MAX_DEPTH) {
        flush();
        const label = text.slice(open + 1, link.labelEnd);
        const children = parseInline(label, depth + 1);
        if (link.href !== undefined) out.push({ t: "link", href: link.href, children });
        else out.push(...children); // unsafe target: the label alone, as text
        i = link.end;
        continue;
      }
    }
    if (c === "<") {
      AUTOLINK.lastIndex = i;
      const auto = AUTOLINK.exec(text);
      const href = auto ? safeHref(auto[1] as string) : undefined;
      if (auto && href !== undefined) {
        flush();
        out.push({ t: "link", href, children: [{ t: "text", text: auto[1] as string }] });
        i += auto[0].length;
        continue;
      }
    }
    if (c === "h" && (i === 0 || /[\s(]/.test(text[i - 1] as string))) {
      BARE_URL.lastIndex = i;
      const bare = BARE_URL.exec(text);
      const href = bare ? safeHref(bare[0]) : undefined;
      if (bare && href !== undefined) {
        flush();
        out.push({ t: "link", href, children: [{ t: "text", text: bare[0] }] });
        i += bare[0].length;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < MAX_DEPTH) {
      const run = runOf(text, i, c);
      const delim = c === "~" ? (run.length >= 2 ? "~~" : "") : run.length >= 2 ? c + c : c;
      const span = delim === "" ? undefined : findEmphasis(text, i, delim, failedFrom);
      if (span !== undefined) {
        flush();
        const kind = c === "~" ? "del" : delim.length === 2 ? "strong" : "em";
        const children = parseInline(text.slice(i + delim.length, span), depth + 1);
        out.push({ t: kind, children });
        i = span + delim.length;
        continue;
      }
      buffer += run;
      i += run.length;
      continue;
    }
    buffer += c;
    i++;
  }
  flush();
  return out;
}

function runOf(text: string, at: number, char: string): string {
  let end = at;
  while (text[end] === char) end++;
  return text.slice(at, end);
}

/**
 * Where the emphasis opened at `at` closes, or undefined. The opener must be followed by a
 * non-space, the closer preceded by one; `_` does not open or close inside a word.
 */
function findEmphasis(
  text: string,
  at: number,
  delim: string,
  failedFrom: Map<string, number>,
): number | undefined {
  const afterOpen = text[at + delim.length];
  if (afterOpen === undefined || /\s/.test(afterOpen)) return undefined;
  if (delim[0] === "_" && at > 0 && /\w/.test(text[at - 1] as string)) return undefined;
  const from = at + delim.length + 1;
  if (from >= (failedFrom.get(delim) ?? Number.POSITIVE_INFINITY)) return undefined;
  const close = text.indexOf(delim, from);
  if (close < 0) {
    failedFrom.set(delim, from);
    return undefined;
  }
  if (/\s/.test(text[close - 1] as string)) return undefined;
  if (delim[0] === "_" && /\w/.test(text[close + delim.length] ?? "")) return undefined;
  // `**a**` is strong, not em around `*a*`: a single-char closer must not sit in a longer run.
  if (delim.length === 1 && text[close + 1] === delim) return undefined;
  return close;
}

/** Index of the matching `]` for each `[`, in one pass (a label may hold nested brackets). */
function matchBrackets(text: string): Map<number, number> {
  const pairs = new Map<number, number>();
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === "[") stack.push(i);
    else if (c === "]" && stack.length > 0) pairs.set(stack.pop() as number, i);
  }
  return pairs;
}

/** `[label](target "title")` at `open`: the label's end, the safe href (if any) and the end. */
function readLink(
  text: string,
  open: number,
  brackets: Map<number, number>,
  nextParen: (from: number) => number,
): { labelEnd: number; href: string | undefined; end: number } | undefined {
  const labelEnd = brackets.get(open);
  if (labelEnd === undefined || text[labelEnd + 1] !== "(") return undefined;
  const from = labelEnd + 2;
  // No `)` before the line ends or within MAX_URL: no target, decided without a scan.
  const paren = nextParen(from);
  if (paren < 0 || paren - from > MAX_URL || text.lastIndexOf("\n", paren) >= from) {
    return undefined;
  }
  const limit = Math.min(text.length, from + MAX_URL);
  let i = labelEnd + 2;
  // Balanced parentheses belong to the target (`https://en.wikipedia.org/wiki/A_(b)`).
  let depth = 0;
  for (; i < limit && text[i] !== "\n"; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && depth-- === 0) break;
  }
  if (text[i] !== ")") return undefined;
  const inside = text.slice(labelEnd + 2, i).trim();
  const target = inside.replace(/\s+(?:"[^"]*"|'[^']*')$/, "").replace(/^<(.*)>$/, "$1");
  return { labelEnd, href: safeHref(target), end: i + 1 };
}
