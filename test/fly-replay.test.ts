import { expect, it } from "vitest";
import { sharedGateway } from "./helpers/fixture.js";
import { call, connect } from "./helpers/gateway.js";

const node = sharedGateway({ env: { FLY_MACHINE_ID: "m-here" }, sockets: "per-file" });

it("prefixes Engine.IO session ids with the Fly machine id and replays other machines' polls there", async () => {
  const open = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
  const body = await open.text();
  const { sid } = JSON.parse(body.slice(1)) as { sid: string };
  expect(sid.startsWith("m-here.")).toBe(true);

  const foreign = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling&sid=m-other.abc123`);
  expect(foreign.status).toBe(307);
  expect(foreign.headers.get("fly-replay")).toBe("instance=m-other");

  // This machine's own sessions are served as usual, over polling end to end.
  const socket = await connect(node.url, "/clients", {
    token: await node.token("alice", "user"),
    transports: ["polling"],
  });
  expect(await call(socket, "ping", {})).toMatchObject({ status: "success" });
  expect(socket.io.engine.id.startsWith("m-here.")).toBe(true);
});
