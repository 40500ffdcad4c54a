/**
 * Unknown events are refused before any handler (PROTOCOL.md section 4) and pay the socket's rate
 * bucket like any other event, so a flood of them costs the node no more than a flood of pings.
 */
import { expect, it } from "vitest";
import { sharedGateway } from "./helpers/fixture.js";
import { connect } from "./helpers/gateway.js";

// Bucket: 5 events/s sustained, 10 at once.
const node = sharedGateway({ env: { SOCKET_RATE_LIMIT: "5" } });

it("answers unknown events INVALID_PAYLOAD only while the socket's bucket lasts, and drops the rest", async () => {
  const socket = await connect(node.url, "/clients", {
    token: await node.token("flooder", "user"),
  });
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) {
    socket.emit(`nope-${i}` as never, {}, (ack: { code: string }) => answers.push(ack.code));
  }
  // One socket's events are handled in order: once the ping is answered (RATE_LIMITED, paced
  // until the bucket refills), every unknown event before it has been answered or dropped.
  const ping = (await socket.timeout(5_000).emitWithAck("ping", {})) as { code?: string };
  expect(ping.code).toBe("RATE_LIMITED");
  expect(answers.every((code) => code === "INVALID_PAYLOAD")).toBe(true);
  expect(answers.length).toBeGreaterThanOrEqual(10);
  expect(answers.length).toBeLessThanOrEqual(12);
});
