/**
 * Who may see what, in one place (PROTOCOL.md sections 4–6): a `direct` message (or stream) is
 * for its sender and receiver, a targeted context for its targets and its updater, everything
 * else for every member of the session. The live fan-out (src/realtime/audience-emit.ts), the
 * history reads (the SQL below) and the context reads all take the rule from here, so a new
 * surface cannot forget half of it.
 */
import type { Visibility } from "../protocol/index.js";

/** The principals who may see an item; `undefined`: every member of its session. */
export type Audience = readonly string[] | undefined;

/** What decides who sees a message or a stream: the fields both carry. */
export interface Addressed {
  senderId: string;
  receiverId?: string | undefined;
  visibility?: Visibility | undefined;
}

/**
 * A message's or a stream's audience: sender and receiver when `direct`, else everyone.
 * A direct item without a receiver (refused at the door, so only from a bad peer) is the
 * sender's alone rather than everyone's.
 */
export function messageAudience(item: Addressed): Audience {
  if (item.visibility !== "direct") return undefined;
  return item.receiverId === undefined || item.receiverId === item.senderId
    ? [item.senderId]
    : [item.senderId, item.receiverId];
}

/** A context's audience: its targets and whoever wrote it last, or everyone without targets. */
export function contextAudience(context: {
  sourceAgentId: string;
  targets?: readonly string[] | undefined;
}): Audience {
  if (context.targets === undefined) return undefined;
  return context.targets.includes(context.sourceAgentId)
    ? context.targets
    : [...context.targets, context.sourceAgentId];
}

/** True when `principalId` (a member of the session) may see an item with this audience. */
export function canSee(audience: Audience, principalId: string): boolean {
  return audience === undefined || audience.includes(principalId);
}

/**
 * The context rule for rows of `contexts`, as a SQL condition on reader `reader` (a placeholder
 * such as `$3`), with expiry: an expired context is no one's, even before the sweep deletes it.
 */
export function readableContextSql(reader: string): string {
  return (
    "(expires_at is null or expires_at > now()) " +
    `and (targets is null or updated_by = ${reader} or ${reader} = any(targets))`
  );
}

/**
 * The message rule for rows of `messages`, as a SQL condition: `reader` is the placeholder of the
 * reader's principal id (e.g. `$5`), `alias` the messages table's alias with its dot.
 */
export function visibleMessageSql(reader: string, alias = ""): string {
  return (
    `(${alias}visibility = 'session' or ${alias}sender_id = ${reader} ` +
    `or ${alias}receiver_id = ${reader})`
  );
}
