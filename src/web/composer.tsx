/**
 * Writing a message: Enter sends, Shift+Enter starts a new line, and a type picker sends code or
 * markdown as such. Typing stays possible while offline; the message shows as pending.
 */
import { type FormEvent, type KeyboardEvent, useState } from "react";
import type { MessageType } from "../protocol/index.js";
import { DEFAULT_MAX_CONTENT_BYTES } from "../protocol/limits.js";

const TYPES: { value: MessageType; label: string }[] = [
  { value: "text", label: "Text" },
  { value: "markdown", label: "Markdown" },
  { value: "code", label: "Code" },
];

/** PROTOCOL.md section 6: content is at most 64 KiB as UTF-8 (the server's default). */
const MAX_BYTES = DEFAULT_MAX_CONTENT_BYTES;
const encoder = new TextEncoder();

export function Composer(props: {
  onSend: (content: string, type: MessageType) => void;
  /** The user is (true) or is no longer (false) writing something. */
  onTyping?: (typing: boolean) => void;
  disabled?: boolean;
}) {
  const [content, setContent] = useState("");
  const [type, setType] = useState<MessageType>("text");
  const tooLarge = encoder.encode(content).length > MAX_BYTES;
  const canSend = !props.disabled && content.trim().length > 0 && !tooLarge;

  function send(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    props.onTyping?.(false);
    props.onSend(content, type);
    setContent("");
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter while an IME is composing confirms the composition; it must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={send}>
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        rows={2}
        placeholder="Write a message — Enter to send, Shift+Enter for a new line"
        value={content}
        onChange={(e) => {
          setContent(e.target.value);
          props.onTyping?.(e.target.value.trim().length > 0);
        }}
        onKeyDown={onKeyDown}
        aria-invalid={tooLarge || undefined}
        aria-describedby={tooLarge ? "composer-error" : undefined}
      />
      <div className="composer-actions">
        <label htmlFor="composer-type" className="visually-hidden">
          Message type
        </label>
        <select
          id="composer-type"
          value={type}
          onChange={(e) => setType(e.target.value as MessageType)}
        >
          {TYPES.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </select>
        <button type="submit" className="primary" disabled={!canSend}>
          Send
        </button>
      </div>
      {tooLarge ? (
        <p id="composer-error" className="error" role="alert">
          This message is larger than 64 KiB.
        </p>
      ) : null}
    </form>
  );
}
