/**
 * Limits written into the wire contract (PROTOCOL.md), each named once here and imported wherever
 * it is checked, documented or defaulted. No imports, so the SDK and the edge bundle can take it.
 */

/** Default largest message `content` in UTF-8 bytes (MAX_CONTENT_BYTES). */
export const DEFAULT_MAX_CONTENT_BYTES = 65_536;
/** Largest message `metadata`, serialized, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 16_384;
/** Largest `contextData`, serialized, in UTF-8 bytes. */
export const MAX_CONTEXT_BYTES = 262_144;

/** Longest a context may live (`ttlSeconds`), in seconds: 30 days. */
export const MAX_CONTEXT_TTL_SECONDS = 2_592_000;
/** Most principals one context may be aimed at (`targets`). */
export const MAX_CONTEXT_TARGETS = 100;

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
