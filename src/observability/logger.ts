import pino, { type Logger } from "pino";
import { prettyStream } from "./pretty.js";
import { serializeError } from "./safe-error.js";

export type { Logger };

export interface LoggerOptions {
  level: string;
  nodeId: string;
  /** Where lines go. Default: stdout. */
  destination?: pino.DestinationStream;
  /** `pretty`: one human-readable line per entry (terminals). Default `json`. */
  format?: "json" | "pretty";
}

/**
 * pino JSON logs. Redaction is the last line of defence: callers never pass tokens or message
 * bodies, and these paths catch the usual places they would hide if someone did.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { node: options.nodeId },
      // Errors lose the values their queries ran with (see safe-error.ts).
      serializers: { err: serializeError },
      redact: {
        paths: [
          "token",
          "*.token",
          "authorization",
          "*.authorization",
          "headers.authorization",
          "*.headers.authorization",
          "content",
          "*.content",
          "contextData",
          "*.contextData",
          "password",
          "*.password",
          "params",
          "*.params",
          "parameters",
          "*.parameters",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? (options.format === "pretty" ? prettyStream() : undefined),
  );
}
