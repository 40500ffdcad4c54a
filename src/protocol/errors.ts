/**
 * Error codes of PROTOCOL.md section 7. One constant per code; the maps below give each its
 * retry advice and HTTP status so every surface (acks, HTTP, SDK) answers the same way.
 */
export const ErrorCode = {
  /** The payload fails the schema; the message names the field and why. */
  INVALID_PAYLOAD: "INVALID_PAYLOAD",
  /** No token was given. */
  AUTH_REQUIRED: "AUTH_REQUIRED",
  /** The token is malformed, badly signed, uses another algorithm or has bad claims. */
  AUTH_INVALID: "AUTH_INVALID",
  /** The token's `exp` has passed. */
  AUTH_EXPIRED: "AUTH_EXPIRED",
  /** Authenticated, but not allowed (not a member, wrong namespace, spoofed sender). */
  FORBIDDEN: "FORBIDDEN",
  /** No such session or context. */
  NOT_FOUND: "NOT_FOUND",
  /** A message id reused by another sender or session, or a stale `expectedVersion`. */
  CONFLICT: "CONFLICT",
  /** A size limit was exceeded. */
  TOO_LARGE: "TOO_LARGE",
  /** Too many calls; back off and retry. */
  RATE_LIMITED: "RATE_LIMITED",
  /** The database cannot be reached; nothing was stored. */
  UNAVAILABLE: "UNAVAILABLE",
  /** Anything else. Details are logged on the server, never sent. */
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES = Object.values(ErrorCode) as readonly ErrorCode[];

export const RETRYABLE: Readonly<Record<ErrorCode, boolean>> = {
  INVALID_PAYLOAD: false,
  AUTH_REQUIRED: false,
  AUTH_INVALID: false,
  AUTH_EXPIRED: false,
  FORBIDDEN: false,
  NOT_FOUND: false,
  CONFLICT: false,
  TOO_LARGE: false,
  RATE_LIMITED: true,
  UNAVAILABLE: true,
  INTERNAL: true,
};

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_PAYLOAD: 400,
  AUTH_REQUIRED: 401,
  AUTH_INVALID: 401,
  AUTH_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * The one error type that crosses layers: messaging throws it, the HTTP API and the ack wrapper
 * turn it into their wire shapes, and the SDK rebuilds it from an error ack.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE[code];
  }
}
