/**
 * Markdown as React elements (the tree from `markdown.ts`): text is always a React text node,
 * so nothing a message holds can become markup or script, and links open in a new tab without
 * handing this page to the target.
 */
import { type ReactNode, useMemo } from "react";
import { highlight } from "./highlight.js";
import { type Block, type Inline, parseMarkdown } from "./markdown.js";

export function Markdown(props: { source: string }) {
  const blocks = useMemo(() => parseMarkdown(props.source), [props.source]);
  return <div className="body body-markdown markdown">{renderBlocks(blocks)}</div>;
}

export function renderBlocks(blocks: Block[]): ReactNode[] {
  return blocks.map((block, key) => renderBlock(block, key));
}

function renderBlock(block: Block, key: number): ReactNode {
  switch (block.t) {
    case "p":
      return <p key={key}>{renderInline(block.children)}</p>;
    case "h": {
      const Tag = `h${block.level}` as const;
      return <Tag key={key}>{renderInline(block.children)}</Tag>;
    }
    case "code":
      return (
        <pre key={key} className="code-block" data-lang={block.lang || undefined}>
          <code>
            {highlight(block.text, block.lang).map((token, i) =>
              token.kind === "plain" ? (
                token.text
              ) : (
                // biome-ignore lint/suspicious/noArrayIndexKey: tokens have no identity but place.
                <span key={i} className={`tok-${token.kind}`}>
                  {token.text}
                </span>
              ),
            )}
          </code>
        </pre>
      );
    case "quote":
      return <blockquote key={key}>{renderBlocks(block.blocks)}</blockquote>;
    case "list": {
      const items = block.items.map((item, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: list items have no identity but place.
        <li key={i}>{renderItem(item)}</li>
      ));
      return block.ordered ? (
        <ol key={key} start={block.start === 1 ? undefined : block.start}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case "hr":
      return <hr key={key} />;
  }
}

/** An item's first paragraph shows without a paragraph around it (a tight list). */
function renderItem(blocks: Block[]): ReactNode {
  const [first, ...rest] = blocks;
  if (first?.t !== "p") return renderBlocks(blocks);
  return [...renderInline(first.children), ...rest.map((block, i) => renderBlock(block, i + 1_000))];
}

export function renderInline(nodes: Inline[]): ReactNode[] {
  return nodes.map((node, key) => {
    switch (node.t) {
      case "text":
        return node.text;
      case "br":
        return <br key={key} />;
      case "code":
        return <code key={key}>{node.text}</code>;
      case "em":
        return <em key={key}>{renderInline(node.children)}</em>;
      case "strong":
        return <strong key={key}>{renderInline(node.children)}</strong>;
      case "del":
        return <del key={key}>{renderInline(node.children)}</del>;
      case "link":
        return (
          <a key={key} href={node.href} target="_blank" rel="noopener noreferrer nofollow">
            {renderInline(node.children)}
          </a>
        );
    }
  });
}
