/**
 * A message's content by type. Nothing becomes HTML: markdown is parsed into React elements
 * (`markdown-view.tsx`, raw HTML stays text), code and tool payloads are shown preformatted, the
 * rest as text (React escapes it), so a message cannot inject markup.
 */
import type { MessageType } from "../protocol/index.js";
import { Markdown } from "./markdown-view.js";

const PREFORMATTED: ReadonlySet<MessageType> = new Set([
  "code",
  "command",
  "tool_call",
  "tool_result",
]);

export function MessageBody(props: { type: MessageType; content: string }) {
  const { type, content } = props;
  if (type === "markdown") return <Markdown source={content} />;
  if (PREFORMATTED.has(type)) {
    return (
      <pre className={`body body-pre body-${type}`}>
        <code>
          {type === "tool_call" || type === "tool_result" ? prettyJson(content) : content}
        </code>
      </pre>
    );
  }
  return <p className={`body body-${type}`}>{content}</p>;
}

/** Tool payloads are usually JSON; indent them when they parse, show them as-is otherwise. */
function prettyJson(content: string): string {
  try {
    return JSON.stringify(JSON.parse(content), null, 2);
  } catch {
    return content;
  }
}
