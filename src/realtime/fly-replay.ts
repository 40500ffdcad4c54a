/**
 * Sticky long-polling on Fly.io without a sticky load balancer. Each Engine.IO session id starts
 * with this machine's id; a polling (or upgrade) request carrying another machine's session id
 * is answered with `fly-replay: instance=<id>`, and Fly's proxy replays it on that machine.
 * WebSocket-only clients never need it: their whole session is one connection.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayServer } from "./types.js";

const SEPARATOR = ".";

/** The machine a session id belongs to, or undefined for ids made without a prefix. */
export function ownerOf(sid: string): string | undefined {
  const at = sid.indexOf(SEPARATOR);
  return at > 0 ? sid.slice(0, at) : undefined;
}

export function enableFlyReplay(io: GatewayServer, machineId: string): void {
  const engine = io.engine;
  const makeId = engine.generateId.bind(engine);
  engine.generateId = async (req: IncomingMessage) =>
    `${machineId}${SEPARATOR}${await makeId(req)}`;
  engine.use((req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
    const sid = new URL(req.url ?? "/", "http://localhost").searchParams.get("sid");
    const owner = sid ? ownerOf(sid) : undefined;
    if (owner === undefined || owner === machineId) return next();
    res.writeHead(307, { "fly-replay": `instance=${owner}`, "content-length": "0" });
    res.end();
  });
}
