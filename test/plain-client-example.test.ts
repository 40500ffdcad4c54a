import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers/gateway.js";

const run = promisify(execFile);
let node: TestGateway;
beforeAll(async () => {
  node = await startTestGateway();
});
afterAll(async () => {
  await node.close();
});

it("runs the README's plain socket.io-client example, written only from PROTOCOL.md, end to end", async () => {
  const { stdout } = await run(process.execPath, ["examples/plain-client.mjs"], {
    env: { ...process.env, GATEWAY_URL: node.url },
    timeout: 20_000,
  });
  expect(stdout).toContain("joined success head 0");
  expect(stdout).toContain("ack success seq 1");
  expect(stdout).toMatch(/user received 1 agent-\w+ Hello from an agent/);
  expect(stdout).toContain("catch-up 1 hasMore false");
});
