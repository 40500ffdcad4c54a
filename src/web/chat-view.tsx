/**
 * An open session: its title and id (to share), members, the conversation and the composer.
 */
import { useCallback, useState } from "react";
import type { GatewayClient } from "../sdk/index.js";
import type { Api } from "./api.js";
import { Composer } from "./composer.js";
import { MembersPanel } from "./members-panel.js";
import { MessageList } from "./message-list.js";
import { nameOf, people, receiptLine } from "./people-state.js";
import { TypingIndicator } from "./typing-indicator.js";
import { useChatSession } from "./use-chat-session.js";
import { useMarkRead } from "./use-mark-read.js";
import { usePeople } from "./use-people.js";
import { useRemoved } from "./use-removed.js";
import { useStreams } from "./use-streams.js";
import { useTyping } from "./use-typing.js";

export interface ChatViewProps {
  api: Api;
  client: GatewayClient | undefined;
  token: string;
  selfId: string;
  sessionId: string;
  onLeave: () => void;
}

export function ChatView(props: ChatViewProps) {
  const { api, token, sessionId, selfId, onLeave } = props;
  const chat = useChatSession({ api, client: props.client, token, sessionId, senderId: selfId });
  const [copied, setCopied] = useState(false);
  const typing = useTyping(props.client, sessionId, selfId);
  const streams = useStreams(props.client, sessionId);
  const who = usePeople(props.client, sessionId, chat.session, chat.joined);
  useMarkRead(props.client, sessionId, chat.state.messages.at(-1)?.seq);
  const removed = useRemoved(props.client, sessionId);
  const { client } = props;
  const setTyping = useCallback(
    (active: boolean) => client?.setTyping(sessionId, active),
    [client, sessionId],
  );

  const addMember = useCallback(
    async (principalId: string) => {
      await api.addMember(token, sessionId, principalId);
      await chat.refreshSession();
    },
    [api, token, sessionId, chat.refreshSession],
  );

  async function copyId() {
    try {
      await navigator.clipboard.writeText(sessionId);
      setCopied(true);
      setTimeout(() => setCopied(false), 1_500);
    } catch {
      // Clipboard access needs a secure context; the id stays selectable on the page.
    }
  }

  const error = removed ? "FORBIDDEN: you were removed from this session" : chat.error;
  if (error) {
    return (
      <section className="card narrow" aria-labelledby="open-error-title">
        <h1 id="open-error-title">Cannot open this session</h1>
        <p className="error" role="alert">
          {error}
        </p>
        {error.startsWith("FORBIDDEN") ? (
          <p>
            Ask a member to add your id <code>{selfId}</code>.
          </p>
        ) : null}
        <button type="button" onClick={onLeave}>
          Back to sessions
        </button>
      </section>
    );
  }

  return (
    <div className="chat">
      <aside className="chat-side">
        <div className="session-heading">
          <button type="button" className="link back" onClick={onLeave}>
            ← All sessions
          </button>
          <h1>{chat.session?.title || "Untitled session"}</h1>
          <p className="session-id">
            <span className="muted">id </span>
            <code data-testid="session-id">{sessionId}</code>{" "}
            <button type="button" className="link" onClick={copyId}>
              {copied ? "Copied" : "Copy"}
            </button>
          </p>
        </div>
        {chat.session ? (
          <MembersPanel members={people(who)} selfId={selfId} onAdd={addMember} />
        ) : (
          <p className="muted">Loading…</p>
        )}
      </aside>
      <section className="chat-main" aria-label="Conversation">
        <MessageList
          messages={chat.state.messages}
          outbox={chat.state.outbox}
          selfId={selfId}
          onRetry={chat.retry}
          streams={streams}
          older={chat.older}
          nameOf={(id) => nameOf(who, id)}
          receiptFor={(seq) => receiptLine(who, seq, selfId)}
        />
        <TypingIndicator names={typing} />
        <Composer onSend={chat.send} onTyping={setTyping} disabled={!chat.session} />
      </section>
    </div>
  );
}
