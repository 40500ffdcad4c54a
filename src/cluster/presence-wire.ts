/**
 * The presence items nodes exchange (presence.ts says what each is for), and how a node's full
 * state is cut into parts that each fit one NOTIFY.
 */
import type { PrincipalKind } from "../protocol/index.js";

/** One entry in a full state: `[sessionId, principalId, kind, name, since]`. */
export type PresenceTuple = [string, string, PrincipalKind, string, number];

/** What travels between nodes, in `FanoutBatch.presence`. `node` is the sender's instance id. */
export type PresenceWire =
  | {
      t: "change";
      node: string;
      v: number;
      sessionId: string;
      principalId: string;
      kind: PrincipalKind;
      name: string;
      state: "online" | "offline";
      at: number;
    }
  | { t: "beat"; node: string; v: number }
  | { t: "sync"; node: string; of?: string }
  | { t: "state"; node: string; v: number; part: number; parts: number; entries: PresenceTuple[] }
  | { t: "bye"; node: string };

/** Bytes of entries per `state` part: one part per NOTIFY, never an attachment. */
const STATE_PART_BYTES = 3_500;

/** Entries cut into parts of at most `STATE_PART_BYTES` of JSON (at least one part, maybe empty). */
export function splitState(tuples: PresenceTuple[]): PresenceTuple[][] {
  const parts: PresenceTuple[][] = [[]];
  let bytes = 0;
  for (const tuple of tuples) {
    const size = JSON.stringify(tuple).length + 1;
    if (bytes + size > STATE_PART_BYTES && (parts.at(-1) as PresenceTuple[]).length > 0) {
      parts.push([]);
      bytes = 0;
    }
    (parts.at(-1) as PresenceTuple[]).push(tuple);
    bytes += size;
  }
  return parts;
}
