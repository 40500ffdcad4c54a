/**
 * Logs: readable lines on a terminal (or LOG_FORMAT=pretty), one JSON object per line otherwise,
 * with the same redaction in both.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/observability/logger.js";
import { formatLine, prettyStream } from "../src/observability/pretty.js";

function capture(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, out: { isTTY, write: (chunk: string) => lines.push(chunk) } };
}

describe("log format", () => {
  it("prints a readable line with time, level, message and fields, and redacts as JSON does", () => {
    const { lines, out } = capture(false);
    const logger = createLogger({ level: "info", nodeId: "n1", destination: prettyStream(out) });
    logger.info({ port: 3000, token: "secret-token", user: { id: "alice" } }, "gateway listening");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}gateway listening port=3000 token=\[redacted\] user=\{"id":"alice"\}\n$/,
    );
    expect(lines[0]).not.toContain("secret-token");
  });

  it("colours warnings only on a terminal", () => {
    const line = JSON.stringify({ level: 40, time: 0, msg: "careful" });
    expect(formatLine(line, true)).toContain("\x1b[33mWARN");
    expect(formatLine(line, false)).toBe("00:00:00.000 WARN  careful\n");
  });

  it("LOG_FORMAT defaults to auto and accepts json and pretty only", () => {
    expect(loadConfig({}).logFormat).toBe("auto");
    expect(loadConfig({ LOG_FORMAT: "json" }).logFormat).toBe("json");
    expect(() => loadConfig({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT/);
  });
});
