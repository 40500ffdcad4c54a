/**
 * Who is in the session, and a form to add someone by principal id (an agent's id, or another
 * user's id as shown next to their name). Foldable, so it can make room on small screens.
 */
import { type FormEvent, useState } from "react";
import { describeError } from "./describe-error.js";
import type { Person } from "./people-state.js";
import { PersonRow } from "./person-row.js";

const PRINCIPAL_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface MembersPanelProps {
  members: readonly Person[];
  selfId: string;
  onAdd: (principalId: string) => Promise<void>;
}

export function MembersPanel({ members, selfId, onAdd }: MembersPanelProps) {
  const [principalId, setPrincipalId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  // Open on wide screens; folded on phones, where the conversation needs the height.
  const [openAtFirst] = useState(() => window.matchMedia("(min-width: 721px)").matches);

  async function add(event: FormEvent) {
    event.preventDefault();
    const id = principalId.trim();
    if (!PRINCIPAL_ID.test(id)) {
      setError("A principal id is 1–64 letters, digits, '.', '_', ':' or '-'.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await onAdd(id);
      setPrincipalId("");
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details className="members" open={openAtFirst}>
      <summary>
        <h2>Members ({members.length})</h2>
      </summary>
      <ul className="member-list">
        {members.map((p) => (
          <PersonRow key={p.principalId} person={p} self={p.principalId === selfId} />
        ))}
      </ul>
      <form onSubmit={add} className="inline-form">
        <label htmlFor="add-member" className="visually-hidden">
          Principal id to add
        </label>
        <input
          id="add-member"
          placeholder="agent id, e.g. bot"
          maxLength={64}
          value={principalId}
          onChange={(e) => setPrincipalId(e.target.value)}
        />
        <button type="submit" disabled={busy || !principalId.trim()}>
          Add
        </button>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </details>
  );
}
