/**
 * Second screen: start a new session (optionally inviting an agent straight away) or open an
 * existing one by id.
 */
import { type FormEvent, useState } from "react";
import { describeError } from "./describe-error.js";

export interface SessionPickerProps {
  /** This user's principal id, which others need to add them to a session. */
  selfId: string;
  onCreate: (input: { title?: string; members?: string[] }) => Promise<void>;
  onJoin: (sessionId: string) => void;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function SessionPicker({ selfId, onCreate, onJoin }: SessionPickerProps) {
  const [title, setTitle] = useState("");
  const [invite, setInvite] = useState("");
  const [joinId, setJoinId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const members = invite
      .split(/[\s,]+/)
      .map((m) => m.trim())
      .filter(Boolean);
    try {
      await onCreate({
        ...(title.trim() ? { title: title.trim() } : {}),
        ...(members.length ? { members } : {}),
      });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  function join(event: FormEvent) {
    event.preventDefault();
    const id = joinId.trim();
    if (SESSION_ID.test(id)) onJoin(id);
    else setError("A session id is 1–64 letters, digits, '_' or '-'.");
  }

  return (
    <div className="picker">
      <p className="picker-intro muted">
        Your id is <code>{selfId}</code>: share it so others can add you to their sessions.
      </p>
      <section className="card" aria-labelledby="create-title">
        <h2 id="create-title">New session</h2>
        <form onSubmit={create} className="stack">
          <label htmlFor="session-title">Title (optional)</label>
          <input
            id="session-title"
            maxLength={200}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
          />
          <label htmlFor="session-invite">Invite principal ids (optional)</label>
          <input
            id="session-invite"
            placeholder="e.g. agent:planner"
            value={invite}
            onChange={(e) => setInvite(e.target.value)}
          />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Creating…" : "Create session"}
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="join-title">
        <h2 id="join-title">Join a session</h2>
        <form onSubmit={join} className="stack">
          <label htmlFor="join-id">Session id</label>
          <input
            id="join-id"
            required
            maxLength={64}
            value={joinId}
            onChange={(e) => setJoinId(e.target.value)}
          />
          <button type="submit" disabled={!joinId.trim()}>
            Join
          </button>
        </form>
      </section>
      {error ? (
        <p className="error picker-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
