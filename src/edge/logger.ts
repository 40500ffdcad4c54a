/**
 * A logger for edge runtimes: pino's JSON line shape on `console`, which is where workerd and Deno
 * (and their hosted platforms) collect logs. pino itself writes through Node streams and file
 * descriptors, which an edge isolate does not have; the code that logs only calls the level
 * methods and `child`, so this is what it gets. Keys that could carry a token or a message body
 * are masked, the same last line of defence as pino's `redact` on the nodes.
 */
import type { Logger } from "../observability/logger.js";

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVELS;

const SECRET_KEYS = new Set(["token", "authorization", "content", "contextData", "password"]);

/** Masks secret keys at the top level and one level down (pino's `x` and `*.x` paths). */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 1 || !value || typeof value !== "object" || Array.isArray(value)) return value;
  if (value instanceof Error) return { message: value.message, name: value.name };
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key) ? "[redacted]" : redact(inner, depth + 1);
  }
  return out;
}

export interface EdgeLoggerOptions {
  /** pino level name; `silent` logs nothing. */
  level: string;
  nodeId: string;
  /** Where a line goes. Default `console.log`. */
  write?: (line: string) => void;
}

export function createEdgeLogger(options: EdgeLoggerOptions): Logger {
  const threshold = LEVELS[options.level as Level] ?? Number.POSITIVE_INFINITY;
  const write = options.write ?? ((line: string) => console.log(line));

  function make(bindings: Record<string, unknown>): Logger {
    const at =
      (level: Level) =>
      (first?: unknown, message?: unknown): void => {
        if (LEVELS[level] < threshold) return;
        const fields = typeof first === "string" ? {} : (redact(first) as object);
        const msg = typeof first === "string" ? first : message;
        write(
          JSON.stringify({
            level: LEVELS[level],
            time: Date.now(),
            ...bindings,
            ...fields,
            ...(msg === undefined ? {} : { msg }),
          }),
        );
      };
    const logger = {
      level: options.level,
      trace: at("trace"),
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      fatal: at("fatal"),
      silent: () => {},
      isLevelEnabled: (level: string) => (LEVELS[level as Level] ?? 0) >= threshold,
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
    };
    // The callers use the level methods and `child` only (see the module comment).
    return logger as unknown as Logger;
  }

  return make({ node: options.nodeId });
}
