/**
 * A tiny language-agnostic highlighter for code blocks: comments, strings, numbers and common
 * keywords, as tokens that the view wraps in spans. It never guesses structure beyond one token,
 * so it cannot be wrong in an interesting way, and it runs in one pass (a sticky regex).
 */

export type TokenKind = "comment" | "string" | "number" | "keyword" | "plain";
export interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  (
    "async await break case catch class const continue def default del do elif else enum export " +
    "extends false fn for from func function go if impl import in interface is let match mut " +
    "new nil none null pass pub return self static struct super switch this throw true try type " +
    "undefined use var void while with yield True False None"
  ).split(" "),
);

// Order matters: comments and strings first, so a quote in a comment or `//` in a string wins.
const TOKEN =
  /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|--[^\n]*)|("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\.)*`?)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b|\b0x[\da-f]+\b)|([A-Za-z_$][\w$]*)|([\s\S])/giy;

/** `#` starts a comment only in languages that use it; others keep it (CSS colours, C macros). */
const HASH_COMMENTS = new Set([
  "py",
  "python",
  "sh",
  "bash",
  "shell",
  "zsh",
  "rb",
  "ruby",
  "yaml",
  "yml",
  "toml",
  "r",
  "perl",
  "pl",
  "dockerfile",
  "make",
  "makefile",
  "",
]);
const DASH_COMMENTS = new Set(["sql", "lua", "haskell", "hs"]);

export function highlight(code: string, lang: string): Token[] {
  const language = lang.toLowerCase();
  const tokens: Token[] = [];
  const push = (kind: TokenKind, text: string) => {
    const last = tokens.at(-1);
    if (last && last.kind === kind && kind === "plain") last.text += text;
    else tokens.push({ kind, text });
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(code); m !== null; m = TOKEN.exec(code)) {
    const [text, comment, string, number, word] = m;
    if (comment !== undefined) {
      const hash = comment.startsWith("#");
      const dash = comment.startsWith("--");
      if ((hash && !HASH_COMMENTS.has(language)) || (dash && !DASH_COMMENTS.has(language))) {
        // Not a comment here: take one character and go on from the next.
        push("plain", comment[0] as string);
        TOKEN.lastIndex = m.index + 1;
        continue;
      }
      push("comment", comment);
    } else if (string !== undefined) push("string", string);
    else if (number !== undefined) push("number", number);
    else if (word !== undefined) push(KEYWORDS.has(word) ? "keyword" : "plain", word);
    else push("plain", text);
  }
  return tokens;
}
