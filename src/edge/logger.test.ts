import { describe, expect, it } from "vitest";
import { createEdgeLogger } from "./logger.js";

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createEdgeLogger({
    level,
    nodeId: "edge-test",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}

describe("edge logger", () => {
  it("writes pino-shaped JSON lines with the child's bindings, and masks tokens and bodies", () => {
    const { logger, lines } = capture("info");
    logger.child({ module: "http" }).info(
      {
        token: "secret-token",
        err: { content: "a message body" },
        contextData: { a: 1 },
        seq: 3,
      },
      "request",
    );
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        node: "edge-test",
        module: "http",
        token: "[redacted]",
        err: { content: "[redacted]" },
        contextData: "[redacted]",
        seq: 3,
        msg: "request",
      },
    ]);
  });

  it("drops lines below its level and logs nothing at silent", () => {
    const info = capture("warn");
    info.logger.info("quiet");
    info.logger.warn({ what: "publish" }, "loud");
    expect(info.lines.map((l) => l.msg)).toEqual(["loud"]);
    const silent = capture("silent");
    silent.logger.error("nothing");
    expect(silent.lines).toEqual([]);
  });
});
