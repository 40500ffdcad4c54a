/**
 * The few HTTP routes the UI calls (PROTOCOL.md section 8), on the page's own origin. Errors
 * become `ApiError` with the gateway's code so the UI can tell "sign in again" from "not found".
 */
import type { PrincipalKind, Session } from "../protocol/index.js";
import type { ListedSession } from "./session-list-state.js";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The token is missing, bad or expired: a fresh one may fix it. */
  get isAuth(): boolean {
    return this.status === 401;
  }
}

export interface Api {
  devToken(input: { sub: string; kind: PrincipalKind; name?: string }): Promise<string>;
  createSession(token: string, input: { title?: string; members?: string[] }): Promise<Session>;
  getSession(token: string, sessionId: string): Promise<Session>;
  addMember(token: string, sessionId: string, principalId: string): Promise<void>;
  listSessions(
    token: string,
    page: { limit?: number; cursor?: string },
  ): Promise<{ sessions: ListedSession[]; nextCursor: string | null }>;
}

export function createApi(baseUrl = ""): Api {
  async function call<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError(0, "NETWORK", "The gateway cannot be reached");
    }
    const text = await res.text();
    const json = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, error?.code ?? "HTTP", error?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  const sessionPath = (id: string) => `/v1/sessions/${encodeURIComponent(id)}`;

  return {
    async devToken(input) {
      const { token } = await call<{ token: string }>("POST", "/v1/dev/token", undefined, input);
      return token;
    },
    createSession: (token, input) => call<Session>("POST", "/v1/sessions", token, input),
    getSession: (token, id) => call<Session>("GET", sessionPath(id), token),
    async addMember(token, id, principalId) {
      await call("POST", `${sessionPath(id)}/members`, token, { principalId });
    },
    listSessions(token, page) {
      const query = new URLSearchParams();
      if (page.limit !== undefined) query.set("limit", String(page.limit));
      if (page.cursor !== undefined) query.set("cursor", page.cursor);
      return call("GET", `/v1/sessions?${query}`, token);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
