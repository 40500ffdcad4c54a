/**
 * First screen: a display name is all it takes. The gateway issues a dev token for it
 * (`POST /v1/dev/token`), which the app remembers.
 */
import { type FormEvent, useState } from "react";
import { describeError } from "./describe-error.js";

export function SignInForm(props: { onSignIn: (name: string) => Promise<void> }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.onSignIn(trimmed);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <section className="card narrow" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p className="muted">Pick a display name to chat with people and agents on this gateway.</p>
      <form onSubmit={submit} className="stack">
        <label htmlFor="display-name">Display name</label>
        <input
          id="display-name"
          name="name"
          autoComplete="nickname"
          maxLength={64}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
