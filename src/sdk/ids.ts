/**
 * Message ids: the server's idempotency key (1–64 chars of `[A-Za-z0-9_-]`). A time prefix
 * keeps ids of one sender roughly sorted (friendlier to the id index than random UUIDs) and 80
 * random bits make collisions negligible. `crypto.getRandomValues` exists in Node 20 and in every
 * browser, also outside secure contexts, unlike `crypto.randomUUID`.
 */
export function newMessageId(): string {
  const random = new Uint8Array(10);
  globalThis.crypto.getRandomValues(random);
  let hex = "";
  for (const byte of random) hex += byte.toString(16).padStart(2, "0");
  return `${Date.now().toString(36)}-${hex}`;
}
