/**
 * The errors the SDK hands to callers. Server refusals keep the protocol's `GatewayError` (code +
 * retryable, PROTOCOL.md section 7); what happens on the client's side of the wire gets its own
 * class, so callers can tell "the server said no" from "nothing answered" with `instanceof`.
 *
 * Only `protocol/errors.ts` is imported: `protocol/index.ts` pulls in zod, which the browser
 * bundle does not need.
 */
import { type ErrorCode, GatewayError, isErrorCode } from "../protocol/errors.js";

export { type ErrorCode, GatewayError };

/** The connection dropped, or was not up, while a call needed it. Always retryable. */
export class GatewayNetworkError extends Error {
  override readonly name = "GatewayNetworkError";
  readonly code = "NETWORK" as const;
  readonly retryable = true;
}

/** Nothing answered within the time allowed; the call may or may not have been applied. */
export class GatewayTimeoutError extends Error {
  override readonly name = "GatewayTimeoutError";
  readonly code = "TIMEOUT" as const;
  readonly retryable = true;

  constructor(
    /** The event (or `heartbeat`) that went unanswered. */
    readonly event: string,
    /** How long the SDK waited, in ms. */
    readonly timeoutMs: number,
  ) {
    super(`No answer to ${event} within ${timeoutMs} ms`);
  }
}

/**
 * `send()` was refused because the outbox already holds `maxSize` unacknowledged messages.
 * Nothing was queued or stored. Retryable: the same call succeeds once the outbox drains.
 */
export class OutboxFullError extends Error {
  override readonly name = "OutboxFullError";
  readonly code = "OUTBOX_FULL" as const;
  readonly retryable = true;

  constructor(readonly maxSize: number) {
    super(`The outbox holds ${maxSize} unsent messages, its limit; try again once it drains`);
  }
}

/** The client was closed, or failed for good, before the call could finish. */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  readonly code = "CLOSED" as const;
  readonly retryable = false;
}

/** Every error the SDK rejects with or emits on `error`. */
export type ClientError =
  | GatewayError
  | GatewayNetworkError
  | GatewayTimeoutError
  | OutboxFullError
  | ClientClosedError;

/** Rebuilds the server's error ack (or a `connect_error`'s data) as a GatewayError. */
export function fromAck(ack: { code: string; message: string; retryable?: boolean }): GatewayError {
  const code: ErrorCode = isErrorCode(ack.code) ? ack.code : "INTERNAL";
  return new GatewayError(
    code,
    ack.message,
    ack.retryable === undefined ? undefined : { retryable: ack.retryable },
  );
}

/** True when repeating the same call later may succeed. */
export function isRetryable(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === true
  );
}

/** Passes SDK errors through; wraps anything else (a throwing getToken) as a network error. */
export function asClientError(error: unknown, what: string): ClientError {
  if (
    error instanceof GatewayError ||
    error instanceof GatewayNetworkError ||
    error instanceof GatewayTimeoutError ||
    error instanceof OutboxFullError ||
    error instanceof ClientClosedError
  ) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayNetworkError(`${what}: ${message}`, { cause: error });
}
