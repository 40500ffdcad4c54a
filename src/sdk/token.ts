/**
 * Where the token comes from: a fixed string, or `getToken()`, asked once at start and again
 * each time the gateway says AUTH_EXPIRED. Also reads the token's `sub` (without verifying:
 * it is our own token, and the server verifies it) so the client knows its own principal id.
 */
export type TokenProvider = () => string | Promise<string>;

export class TokenSource {
  private current: string | undefined;

  constructor(
    token: string | undefined,
    private readonly getToken: TokenProvider | undefined,
  ) {
    this.current = token;
    if (token === undefined && getToken === undefined) {
      throw new TypeError("createGatewayClient needs `token` or `getToken`");
    }
  }

  /** The token to present now; undefined until the first `refresh()` when only getToken is given. */
  get token(): string | undefined {
    return this.current;
  }

  /** Whether a new token can be had (AUTH_EXPIRED is then worth retrying). */
  get canRefresh(): boolean {
    return this.getToken !== undefined;
  }

  /** Asks getToken for a fresh token. */
  async refresh(): Promise<string> {
    if (!this.getToken) throw new Error("No getToken to refresh the token with");
    const token = await this.getToken();
    if (typeof token !== "string" || token === "") {
      throw new TypeError("getToken must resolve to a non-empty string");
    }
    this.current = token;
    return token;
  }
}

/** The `sub` claim of a JWT, or undefined when the token is not a readable JWT. */
export function tokenSubject(token: string | undefined): string | undefined {
  const payload = token?.replace(/^bearer\s+/i, "").split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}
