/**
 * A message's content by type. Everything is rendered as text (React escapes it): markdown and
 * code are shown preformatted, never parsed into HTML, so a message cannot inject markup.
 */
import type { MessageType } from "../protocol/index.js";

const PREFORMATTED: ReadonlySet<MessageType> = new Set([
  "markdown",
  "code",
  "command",
  "tool_call",
  "tool_result",
]);

export function MessageBody(props: { type: MessageType; content: string }) {
  const { type, content } = props;
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
