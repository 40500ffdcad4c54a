import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { parseInline, parseMarkdown, safeHref } from "./markdown.js";
import { MessageBody } from "./message-body.js";

const html = (content: string, type: "markdown" | "text" = "markdown") =>
  renderToStaticMarkup(createElement(MessageBody, { type, content }));

describe("markdown messages", () => {
  it("renders emphasis, code, headings, lists, quotes and links as elements", () => {
    const out = html(
      [
        "# Title",
        "",
        "Some **bold**, *em*, _also em_, ~~gone~~ and `a < b`.",
        "",
        "- one",
        "- two",
        "  1. nested",
        "",
        "> quoted",
        "",
        "[docs](https://example.com/a?b=1&c=2) and <mailto:x@example.com>",
      ].join("\n"),
    );
    expect(out).toContain("<h1>Title</h1>");
    expect(out).toContain("<strong>bold</strong>");
    expect(out).toContain("<em>em</em>");
    expect(out).toContain("<em>also em</em>");
    expect(out).toContain("<del>gone</del>");
    expect(out).toContain("<code>a &lt; b</code>");
    expect(out).toContain("<ul><li>one</li><li>two<ol><li>nested</li></ol></li></ul>");
    expect(out).toContain("<blockquote><p>quoted</p></blockquote>");
    expect(out).toContain(
      '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">docs</a>',
    );
    expect(out).toContain('href="mailto:x@example.com"');
  });

  it("shows fenced code in a monospaced block with highlighted tokens, unclosed fences included", () => {
    const out = html('```js\nconst x = "<b>"; // note\n```\nafter');
    expect(out).toContain('<pre class="code-block" data-lang="js"><code>');
    expect(out).toContain('<span class="tok-keyword">const</span>');
    expect(out).toContain('<span class="tok-string">&quot;&lt;b&gt;&quot;</span>');
    expect(out).toContain('<span class="tok-comment">// note</span>');
    expect(out).toContain("<p>after</p>");
    // A message still being streamed: the fence is not closed yet.
    expect(parseMarkdown("```py\nprint(1)")).toEqual([{ t: "code", lang: "py", text: "print(1)" }]);
  });

  it("keeps raw HTML as text: no tag, no attribute, no script reaches the page", () => {
    const out = html(
      '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n**<iframe src="https://evil.example">**',
    );
    expect(out).not.toMatch(/<script|<img|<iframe/i);
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(out).toContain("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;");
    expect(out).toContain("<strong>&lt;iframe");
  });

  it("drops link targets that are not http, https or mailto, however they are spelled", () => {
    const hostile = [
      "[a](javascript:alert(1))",
      "[b](JaVaScRiPt:alert(1))",
      "[c]( javascript:alert(1))",
      "[d](java\tscript:alert(1))",
      "[e](data:text/html;base64,PHNjcmlwdD4=)",
      "[f](vbscript:msgbox)",
      "[g](/relative/path)",
      "<javascript:alert(1)>",
      "![img](javascript:alert(1))",
    ];
    const out = html(hostile.join("\n\n"));
    expect(out).not.toContain("href");
    expect(out).not.toMatch(/<a /);
    for (const label of ["a", "b", "c", "d", "e", "f", "g"])
      expect(out).toContain(`<p>${label}</p>`);
    expect(safeHref("java\nscript:alert(1)")).toBeUndefined();
    expect(safeHref("https://ok.example/")).toBe("https://ok.example/");
  });

  it("links bare http(s) URLs but not other schemes", () => {
    expect(parseInline("see https://example.com/x. and javascript:alert(1)")).toEqual([
      { t: "text", text: "see " },
      {
        t: "link",
        href: "https://example.com/x",
        children: [{ t: "text", text: "https://example.com/x" }],
      },
      { t: "text", text: ". and javascript:alert(1)" },
    ]);
  });

  it("parses pathological input in linear time and keeps deep nesting as text", () => {
    const n = 60_000;
    const started = performance.now();
    for (const input of [
      "*a ".repeat(n / 3),
      "[".repeat(n),
      "[a](".repeat(n / 4),
      "`a``".repeat(n / 4),
      ">".repeat(n),
      "- ".repeat(n / 2),
      "**_~~".repeat(n / 5),
    ]) {
      parseMarkdown(input);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(() => parseMarkdown(`${"> ".repeat(5_000)}deep`)).not.toThrow();
  });

  it("leaves non-markdown text alone", () => {
    expect(html("**not bold** <b>", "text")).toBe(
      '<p class="body body-text">**not bold** &lt;b&gt;</p>',
    );
  });
});
