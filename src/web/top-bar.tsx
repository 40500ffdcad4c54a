/**
 * The bar across the top of every screen: product name, connection status (always visible) and
 * who is signed in.
 */
import type { ClientStatus } from "../sdk/index.js";
import { ConnectionStatusIndicator } from "./connection-status.js";

export interface TopBarProps {
  status: ClientStatus;
  reason: string | undefined;
  user: { name: string; sub: string } | undefined;
  onSignOut: () => void;
}

export function TopBar({ status, reason, user, onSignOut }: TopBarProps) {
  return (
    <header className="top-bar">
      <a className="brand" href="#/">
        TKR chat
      </a>
      <ConnectionStatusIndicator status={status} reason={reason} />
      {user ? (
        <div className="user">
          <span className="user-name" title={`Your principal id: ${user.sub}`}>
            {user.name}
          </span>
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      ) : null}
    </header>
  );
}
