/**
 * Markdown as React elements (the tree from `markdown.ts`): text is always a React text node,
 * so nothing a message holds can become markup or script, and links open in a new tab without
 * handing this page to the target.
 *
 * Parsed nodes have no identity but their place, and a streamed message only grows at its end,
 * so `Children.toArray` keys them by position: the nodes already shown keep their elements.
 */
import { Children, type ReactNode, useMemo } from "react";
import { highlight, type Token } from "./highlight.js";
import { type Block, type Inline, parseMarkdown } from "./markdown.js";

export function Markdown(props: { source: string }) {
  const blocks = useMemo(() => parseMarkdown(props.source), [props.source]);
  return <div className="body body-markdown markdown">{renderBlocks(blocks)}</div>;
}

function renderBlocks(blocks: Block[]): ReactNode[] {
  return Children.toArray(blocks.map(renderBlock));
}

function renderBlock(block: Block): ReactNode {
  switch (block.t) {
    case "p":
      return <p>{renderInline(block.children)}</p>;
    case "h": {
      const Tag = `h${block.level}` as const;
      return <Tag>{renderInline(block.children)}</Tag>;
    }
    case "code":
      return (
        <pre className="code-block" data-lang={block.lang || undefined}>
          <code>{Children.toArray(highlight(block.text, block.lang).map(renderToken))}</code>
        </pre>
      );
    case "quote":
      return <blockquote>{renderBlocks(block.blocks)}</blockquote>;
    case "list": {
      const items = Children.toArray(block.items.map(renderItem));
      return block.ordered ? (
        <ol start={block.start === 1 ? undefined : block.start}>{items}</ol>
      ) : (
        <ul>{items}</ul>
      );
    }
    case "hr":
      return <hr />;
  }
}

function renderToken(token: Token): ReactNode {
  return token.kind === "plain" ? (
    token.text
  ) : (
    <span className={`tok-${token.kind}`}>{token.text}</span>
  );
}

/** An item's first paragraph shows without a paragraph around it (a tight list). */
function renderItem(blocks: Block[]): ReactNode {
  const [first, ...rest] = blocks;
  if (first?.t !== "p") return <li>{renderBlocks(blocks)}</li>;
  return <li>{Children.toArray([...renderInline(first.children), ...rest.map(renderBlock)])}</li>;
}

function renderInline(nodes: Inline[]): ReactNode[] {
  return Children.toArray(nodes.map(renderNode));
}

function renderNode(node: Inline): ReactNode {
  switch (node.t) {
    case "text":
      return node.text;
    case "br":
      return <br />;
    case "code":
      return <code>{node.text}</code>;
    case "em":
      return <em>{renderInline(node.children)}</em>;
    case "strong":
      return <strong>{renderInline(node.children)}</strong>;
    case "del":
      return <del>{renderInline(node.children)}</del>;
    case "link":
      return (
        <a href={node.href} target="_blank" rel="noopener noreferrer nofollow">
          {renderInline(node.children)}
        </a>
      );
  }
}
