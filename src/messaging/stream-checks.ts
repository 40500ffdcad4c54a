/**
 * What the database says about a stream about to open (PROTOCOL.md "Streams"): the caller is a
 * member, a direct stream's receiver is one too, and whether the stream's id is already a stored
 * message. Reads only: a stream writes to the database once, when it ends.
 */
import type pg from "pg";
import { type AppendResult, GatewayError, type StreamStartPayload } from "../protocol/index.js";
import { checkMetadataSize, storedAs } from "./messages.js";
import { requireMember } from "./sessions.js";
import type { Principal } from "./types.js";

/**
 * Throws NOT_FOUND / FORBIDDEN (membership), INVALID_PAYLOAD (receiver not a member), TOO_LARGE
 * (metadata) or CONFLICT (the id is another sender's or session's message). Resolves to the
 * stored message's ack when the id is already the caller's message in this session (the stream
 * then opens nothing), else undefined.
 */
export async function checkStreamStart(
  pool: pg.Pool,
  caller: Principal,
  input: StreamStartPayload,
): Promise<AppendResult | undefined> {
  checkMetadataSize(input.metadata);
  await requireMember(pool, input.sessionId, caller.id);
  if (input.receiverId !== undefined && input.visibility === "direct") {
    try {
      await requireMember(pool, input.sessionId, input.receiverId);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "FORBIDDEN") {
        throw new GatewayError(
          "INVALID_PAYLOAD",
          `receiverId: ${input.receiverId} is not a member of session ${input.sessionId}`,
        );
      }
      throw err;
    }
  }
  return storedAs(pool, caller, input.sessionId, input.id);
}
