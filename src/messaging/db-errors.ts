import { GatewayError } from "../protocol/index.js";

/**
 * SQLSTATE classes and Node socket errors that mean "the database is not there right now".
 * 57014 (query_canceled) is what `statement_timeout` raises: the database is too slow to answer.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|57014)/;
const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);
// The last two are workerd's socket errors (cloudflare:sockets), which carry no code: a refused or
// unroutable connect, and a connection dropped mid-use.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|connection is closed|proxy request failed, cannot connect|Network connection lost|Query read timeout/i;

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (code.length === 5 && UNAVAILABLE_SQLSTATE.test(code)) return true;
  }
  if (UNAVAILABLE_MESSAGES.test(err.message)) return true;
  // FATAL errors end the session before or while it runs (shutdown, database not accepting
  // connections, too many clients): the database is not usable right now.
  if ((err as { severity?: unknown }).severity === "FATAL") return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isUnavailable(cause);
}

/** SQLSTATE of a Postgres error, looking through drizzle's wrapping. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code.length === 5) return code;
  return sqlState((err as { cause?: unknown }).cause);
}

export function constraintName(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const name = (err as { constraint?: unknown }).constraint;
  if (typeof name === "string") return name;
  return constraintName((err as { cause?: unknown }).cause);
}

/**
 * Runs a database operation; GatewayErrors pass through, connection failures become
 * `UNAVAILABLE`, and anything else is rethrown for the caller's `INTERNAL` path.
 */
export async function withDb<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (isUnavailable(err)) {
      throw new GatewayError("UNAVAILABLE", "The database cannot be reached; nothing was stored", {
        cause: err,
      });
    }
    throw err;
  }
}
