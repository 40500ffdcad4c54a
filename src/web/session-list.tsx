/**
 * "Your sessions": the user's sessions, most recent activity first, each with its unread count
 * and last activity; a click opens one. Live (see use-session-list.ts).
 */
import { formatFullTime, formatTime } from "./format-time.js";
import "./people.css";
import type { SessionList as SessionListModel } from "./use-session-list.js";

export interface SessionListProps {
  list: SessionListModel;
  onOpen: (sessionId: string) => void;
}

export function SessionList({ list, onOpen }: SessionListProps) {
  const { items, loaded, nextCursor } = list.state;
  return (
    <section className="card session-list" aria-labelledby="session-list-title">
      <h2 id="session-list-title">Your sessions</h2>
      {!loaded && !list.error ? <p className="muted">Loading…</p> : null}
      {loaded && items.length === 0 ? (
        <p className="muted">No sessions yet: start one below, or ask someone to add you.</p>
      ) : null}
      <ul className="session-rows">
        {items.map((item) => (
          <li key={item.id} data-session-id={item.id} data-unread={item.unread}>
            <button type="button" className="session-row" onClick={() => onOpen(item.id)}>
              <span className="session-row-title">{item.title || "Untitled session"}</span>
              {item.lastActivity !== undefined ? (
                <time
                  className="muted"
                  dateTime={new Date(item.lastActivity).toISOString()}
                  title={formatFullTime(item.lastActivity)}
                >
                  {formatTime(item.lastActivity)}
                </time>
              ) : (
                <span className="muted">no messages yet</span>
              )}
              {item.unread > 0 ? (
                <span className="unread-count" title={`${item.unread} unread`}>
                  {item.unread > 99 ? "99+" : item.unread}
                </span>
              ) : null}
            </button>
          </li>
        ))}
      </ul>
      {nextCursor ? (
        <button type="button" onClick={list.loadMore} disabled={list.loadingMore}>
          {list.loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : null}
      {list.error ? (
        <p className="error" role="alert">
          {list.error}
        </p>
      ) : null}
    </section>
  );
}
