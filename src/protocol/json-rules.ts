/**
 * What Postgres can store (PROTOCOL.md section 3, input rules): it refuses NUL in `text` and
 * `jsonb` and lone surrogates in `jsonb`, and silently turns a lone surrogate in `text` into
 * U+FFFD. In a multi-row statement one such row fails every row with it, so these checks run at
 * the door, in the schemas, before anything reaches a batch. No Node imports: the SDK uses them.
 */

/** Deepest nesting of `metadata` and `contextData`, the object itself counting as level 1. */
export const MAX_JSON_DEPTH = 32;

/** Largest value of an `integer` column (context versions). */
export const MAX_INT4 = 2_147_483_647;

type WellFormedCheck = (this: string) => boolean;
const isWellFormed = (String.prototype as { isWellFormed?: WellFormedCheck }).isWellFormed;

export const UNSTORABLE_TEXT_MESSAGE = "must not contain NUL (U+0000) or unpaired surrogates";

/** True when Postgres stores `value` unchanged in `text` and `jsonb`. */
export function isStorableText(value: string): boolean {
  // Native and many times faster on non-ASCII text; the loop is for older browsers (the web UI
  // shares this file), where a lookbehind regex would not even parse.
  if (isWellFormed) return !value.includes("\u0000") && isWellFormed.call(value);
  return isStorableTextByLoop(value);
}

/** The fallback of `isStorableText`; exported so tests hold the two to the same answers. */
export function isStorableTextByLoop(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit === 0) return false;
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff) return false; // a low surrogate with no high one before it
    const next = value.charCodeAt(i + 1); // NaN past the end
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

export interface JsonProblem {
  /** Keys and indexes from the checked value down to the offending one. */
  path: Array<string | number>;
  message: string;
}

/**
 * The first reason `value` (parsed JSON) cannot be stored as `jsonb`: a string or key with NUL or
 * an unpaired surrogate, a non-finite number, or nesting deeper than `maxDepth`. Walks with an
 * explicit stack, never recursion, and never goes below `maxDepth`, so a payload nested 100,000
 * deep costs one pass over its first `maxDepth` levels and cannot overflow the call stack.
 */
export function findJsonProblem(
  value: unknown,
  maxDepth = MAX_JSON_DEPTH,
): JsonProblem | undefined {
  const stack: Frame[] = [{ value, depth: 1, key: undefined, parent: undefined }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { value: current, depth } = frame;
    if (typeof current === "string") {
      if (!isStorableText(current))
        return { path: pathOf(frame), message: UNSTORABLE_TEXT_MESSAGE };
      continue;
    }
    if (typeof current === "number") {
      if (!Number.isFinite(current))
        return { path: pathOf(frame), message: "must be a finite number" };
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (depth > maxDepth) {
      return { path: pathOf(frame), message: `nests deeper than ${maxDepth} levels` };
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        stack.push({ value: current[i], depth: depth + 1, key: i, parent: frame });
      }
      continue;
    }
    const keys = Object.keys(current);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const child = {
        value: (current as Record<string, unknown>)[key],
        depth: depth + 1,
        key,
        parent: frame,
      };
      if (!isStorableText(key))
        return { path: pathOf(child), message: `key ${UNSTORABLE_TEXT_MESSAGE}` };
      stack.push(child);
    }
  }
  return undefined;
}

/** A value waiting to be checked; the parent links give the path only when one fails. */
interface Frame {
  value: unknown;
  depth: number;
  key: string | number | undefined;
  parent: Frame | undefined;
}

function pathOf(frame: Frame): Array<string | number> {
  const path: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) {
    path.unshift(typeof f.key === "string" ? pathKey(f.key) : f.key);
  }
  return path;
}

/** A key as error messages show it: short, and with the offending characters masked. */
function pathKey(key: string): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  if (isStorableText(shown)) return shown;
  // Iterating by code point leaves an unpaired surrogate as a one-unit string of its own.
  return Array.from(shown, (ch) =>
    ch === "\u0000" || (ch.length === 1 && ch >= "\uD800" && ch <= "\uDFFF") ? "?" : ch,
  ).join("");
}
