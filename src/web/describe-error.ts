/**
 * One readable line for whatever an SDK, a fetch or a socket rejected with: the gateway's
 * `code: message` when there is one, never an object dump.
 */
export function describeError(error: unknown): string | undefined {
  if (error === undefined || error === null || error === "") return undefined;
  if (typeof error === "string") return error;
  if (typeof error === "object") {
    const e = error as {
      code?: unknown;
      message?: unknown;
      data?: { code?: unknown; message?: unknown };
    };
    const code =
      typeof e.code === "string"
        ? e.code
        : typeof e.data?.code === "string"
          ? e.data.code
          : undefined;
    const message =
      typeof e.data?.message === "string"
        ? e.data.message
        : typeof e.message === "string"
          ? e.message
          : undefined;
    if (code && message && !message.includes(code)) return `${code}: ${message}`;
    return message ?? code ?? "Unknown error";
  }
  return String(error);
}

/** The gateway's error code carried by an error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (!error || typeof error !== "object") return undefined;
  const e = error as { code?: unknown; data?: { code?: unknown } };
  if (typeof e.code === "string") return e.code;
  if (typeof e.data?.code === "string") return e.data.code;
  return undefined;
}

const AUTH_CODES = new Set(["AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED"]);

/** True when a fresh token could fix the error. */
export function isAuthError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && AUTH_CODES.has(code);
}

/** socket.io's disconnect reasons, in words a user can act on. */
const STATUS_REASONS: Record<string, string> = {
  "transport close": "connection lost",
  "transport error": "network error",
  "ping timeout": "the gateway stopped answering",
  "heartbeat timeout": "the gateway stopped answering",
  "io server disconnect": "the gateway closed the connection",
  "xhr poll error": "network error",
  "websocket error": "network error",
  closed: "closed",
};

export function describeStatusReason(reason: string | undefined): string | undefined {
  if (!reason) return undefined;
  return STATUS_REASONS[reason] ?? reason;
}
