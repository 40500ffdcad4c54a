import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PresenceEvent } from "../protocol/index.js";
import { createPresenceMesh, type PresenceMesh, type PresenceWire } from "./presence.js";

/** Meshes joined by a bus that delivers each item to the others, unless a test drops it. */
function network() {
  const nodes: Array<{ instance: string; mesh: PresenceMesh; events: PresenceEvent[] }> = [];
  const sent: PresenceWire[] = [];
  let drop: (item: PresenceWire) => boolean = () => false;
  const dead = new Set<string>();
  const add = (instance: string, timeoutMs = 2_000) => {
    const events: PresenceEvent[] = [];
    const mesh = createPresenceMesh({
      instance,
      timeoutMs,
      publish(item) {
        if (dead.has(instance)) return;
        sent.push(item);
        if (drop(item)) return;
        for (const other of nodes) if (other.instance !== instance) other.mesh.receive([item]);
      },
      onChange: (event) => events.push(event),
    });
    const node = { instance, mesh, events };
    nodes.push(node);
    return node;
  };
  return {
    add,
    sent,
    drop(predicate: (item: PresenceWire) => boolean) {
      drop = predicate;
    },
    /** Takes a node off the bus without a word, as a SIGKILL would. */
    kill(instance: string) {
      dead.add(instance);
      const i = nodes.findIndex((n) => n.instance === instance);
      nodes.splice(i, 1);
    },
  };
}

const ids = (mesh: PresenceMesh, sessionId = "s1") =>
  mesh
    .list(sessionId)
    .map((p) => p.principalId)
    .sort();

describe("presence mesh", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("emits online once per principal and offline only when no node holds it", () => {
    const net = network();
    const a = net.add("a#1");
    const b = net.add("b#1");
    a.mesh.start();
    b.mesh.start();
    a.mesh.localOnline("s1", "alice", "user", "Alice");
    b.mesh.localOnline("s1", "alice", "user", "Alice");
    expect(b.events.map((e) => e.state)).toEqual(["online"]);
    a.mesh.localOffline("s1", "alice");
    expect(b.events.map((e) => e.state)).toEqual(["online"]);
    expect(ids(b.mesh)).toEqual(["alice"]);
    b.mesh.localOffline("s1", "alice");
    expect(a.events.map((e) => e.state)).toEqual(["online", "offline"]);
    expect(ids(a.mesh)).toEqual([]);
  });

  it("repairs a lost change from the next heartbeat's version", async () => {
    const net = network();
    const a = net.add("a#1");
    const b = net.add("b#1");
    a.mesh.start();
    b.mesh.start();
    // The states the starts asked for are sent, so only the beat can tell of the lost change.
    await vi.advanceTimersByTimeAsync(0);
    net.drop((item) => item.t === "change");
    a.mesh.localOnline("s1", "alice", "user", "Alice");
    net.drop(() => false);
    expect(ids(b.mesh)).toEqual([]);
    await vi.advanceTimersByTimeAsync(600);
    expect(ids(b.mesh)).toEqual(["alice"]);
    expect(b.events).toMatchObject([{ principalId: "alice", state: "online" }]);
  });

  it("drops a silent node after the timeout, and a node that says bye at once", async () => {
    const net = network();
    const a = net.add("a#1");
    const b = net.add("b#1");
    const c = net.add("c#1");
    for (const n of [a, b, c]) n.mesh.start();
    b.mesh.localOnline("s1", "bot", "agent", "bot");
    c.mesh.localOnline("s1", "carol", "user", "Carol");
    expect(ids(a.mesh)).toEqual(["bot", "carol"]);
    c.mesh.stop();
    expect(ids(a.mesh)).toEqual(["bot"]);
    net.kill("b#1");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ids(a.mesh)).toEqual(["bot"]);
    await vi.advanceTimersByTimeAsync(1_600);
    expect(ids(a.mesh)).toEqual([]);
    expect(a.events.filter((e) => e.state === "offline").map((e) => e.principalId)).toEqual([
      "carol",
      "bot",
    ]);
  });

  it("lets a new node learn the others' state in parts, and replaces a restarted node", async () => {
    const net = network();
    const a = net.add("a#1");
    a.mesh.start();
    for (let i = 0; i < 200; i++) a.mesh.localOnline(`s${i % 20}`, `user-${i}`, "user", `U ${i}`);
    const b = net.add("b#1");
    b.mesh.start();
    await vi.advanceTimersByTimeAsync(0);
    const parts = net.sent.filter((item) => item.t === "state");
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(JSON.stringify(part).length).toBeLessThan(6_000);
    expect(ids(b.mesh, "s3")).toHaveLength(10);

    // a restarts under the same node id: its old entries go at once.
    net.kill("a#1");
    const again = net.add("a#2");
    again.mesh.start();
    expect(ids(b.mesh, "s3")).toEqual([]);
  });
});
