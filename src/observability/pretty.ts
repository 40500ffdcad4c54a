/**
 * Human-readable log lines for a terminal: `12:04:05.123 INFO  gateway listening port=3000`.
 * It formats pino's JSON lines (already redacted), so what is logged is the same in both forms.
 */
import type { DestinationStream } from "pino";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const COLOURS: Record<number, string> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[31m" };
const RESET = "\x1b[0m";
const OMIT = new Set(["level", "time", "msg", "node", "pid", "hostname"]);

export function formatLine(line: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = Number(entry.level);
  const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMIT.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const name = LEVELS[level] ?? String(level);
  const shown = colour && COLOURS[level] ? `${COLOURS[level]}${name}${RESET}` : name;
  return `${time} ${shown} ${String(entry.msg ?? "")}${fields.length ? ` ${fields.join(" ")}` : ""}\n`;
}

export function prettyStream(
  out: { write(chunk: string): unknown; isTTY?: boolean } = process.stdout,
): DestinationStream {
  const colour = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) if (line) out.write(formatLine(line, colour));
    },
  };
}
