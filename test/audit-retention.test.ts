/**
 * The connection audit stays bounded: client-supplied text is cut to a fixed length, and rows past
 * AUDIT_RETENTION_DAYS are deleted by a bounded periodic statement.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/observability/logger.js";
import { createAuditPruner } from "../src/realtime/audit.js";
import { sharedGateway } from "./helpers/fixture.js";
import { connect, waitFor } from "./helpers/gateway.js";

const node = sharedGateway({ sockets: "per-file" });
const logger = createLogger({ level: "silent", nodeId: "test" });

async function insertAged(prefix: string, ages: number[]) {
  for (const [i, days] of ages.entries()) {
    await node.db.pool.query(
      `insert into connection_audit (socket_id, namespace, node_id, connected_at)
       values ($1, '/agents', 'old-node', now() - make_interval(days => $2))`,
      [`${prefix}-${i}`, days],
    );
  }
}

async function remaining(prefix: string): Promise<string[]> {
  const rows = await node.db.pool.query<{ socket_id: string }>(
    "select socket_id from connection_audit where socket_id like $1 order by socket_id",
    [`${prefix}-%`],
  );
  return rows.rows.map((r) => r.socket_id);
}

describe("connection audit", () => {
  it("stores at most 256 characters of a user agent", async () => {
    const socket = await connect(node.url, "/agents", {
      token: await node.token("ua-bot", "agent"),
      extraHeaders: { "user-agent": `Mozilla/5.0 ${"x".repeat(15_000)}` },
    });
    await node.gateway.realtime.flushAudit();
    const row = await node.db.pool.query<{ length: number }>(
      "select length(user_agent) as length from connection_audit where socket_id = $1",
      [socket.id],
    );
    expect(row.rows[0]?.length).toBe(256);
  });

  it("deletes rows older than the retention, at most maxRows per pass", async () => {
    await insertAged("p", [45, 40, 35, 10, 1]);
    const pruner = createAuditPruner({ pool: node.db.pool, logger, retentionDays: 30, maxRows: 2 });
    try {
      expect(await pruner.prune()).toBe(2);
      expect(await pruner.prune()).toBe(1);
      expect(await pruner.prune()).toBe(0);
      expect(await remaining("p")).toEqual(["p-3", "p-4"]);
    } finally {
      pruner.stop();
    }
  });

  it("prunes on its timer until stopped, and never with a retention of 0", async () => {
    await insertAged("t", [60, 2]);
    const keepAll = createAuditPruner({ pool: node.db.pool, logger, retentionDays: 0 });
    expect(await keepAll.prune()).toBe(0);
    keepAll.stop();
    expect(await remaining("t")).toEqual(["t-0", "t-1"]);

    const pruner = createAuditPruner({
      pool: node.db.pool,
      logger,
      retentionDays: 30,
      intervalMs: 20,
    });
    try {
      await waitFor(async () => (await remaining("t")).length === 1, 5_000, "the timed prune");
      expect(await remaining("t")).toEqual(["t-1"]);
    } finally {
      pruner.stop();
    }
  });
});
