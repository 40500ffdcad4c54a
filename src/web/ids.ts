/**
 * Message ids, chosen by the sender (PROTOCOL.md section 4: the id is the idempotency key, so a
 * retry with the same id never stores twice). `crypto.randomUUID` needs a secure context and a
 * page served over plain http on a LAN address is not one; `getRandomValues` works everywhere.
 */
export function newMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `web-${Date.now().toString(36)}-${hex}`;
}
