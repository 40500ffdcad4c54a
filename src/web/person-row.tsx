/**
 * One member: a presence dot (online / offline), the display name, a badge for agents, and the
 * principal id (what others need to add them elsewhere) when it differs from the name.
 */
import type { Person } from "./people-state.js";
import "./people.css";

export function PersonRow({ person, self }: { person: Person; self: boolean }) {
  const state = person.online ? "online" : "offline";
  return (
    <li
      className="person"
      data-principal={person.principalId}
      data-presence={state}
      title={`${person.principalId}: ${state}`}
    >
      <span className={`presence-dot ${state}`} role="img" aria-label={state} />
      {person.name === person.principalId ? (
        <code className="person-name">{person.name}</code>
      ) : (
        <span className="person-name">{person.name}</span>
      )}
      {self ? <span className="muted"> (you)</span> : null}
      {person.kind === "agent" ? <span className="badge badge-agent">agent</span> : null}
      {person.name !== person.principalId ? (
        <code className="person-id muted">{person.principalId}</code>
      ) : null}
    </li>
  );
}
