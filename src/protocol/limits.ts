/**
 * Limits written into the wire contract (PROTOCOL.md), each named once here and imported wherever
 * it is checked, documented or defaulted. No imports, so the SDK and the edge bundle can take it.
 */

/** Messages in one history page (`GET …/messages`, `sync`) when the caller names no `limit`. */
export const DEFAULT_PAGE_LIMIT = 100;
/** Most messages one history page may ask for. */
export const MAX_PAGE_LIMIT = 500;
/** Default byte budget of one history page (HISTORY_PAGE_MAX_BYTES). */
export const DEFAULT_PAGE_BYTES = 1_048_576;

/** Room an HTTP request body gets beyond its content and metadata: the JSON envelope. */
const BODY_ENVELOPE_BYTES = 32_768;

/**
 * Largest HTTP request body for a given content limit: content may double when JSON-escaped,
 * plus the envelope.
 */
export function maxBodyBytes(maxContentBytes: number): number {
  return maxContentBytes * 2 + BODY_ENVELOPE_BYTES;
}
