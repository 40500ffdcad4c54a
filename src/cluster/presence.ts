/**
 * Presence across nodes (PROTOCOL.md `presence`): who is online in which session, and through
 * which node. Each node owns its own entries (a principal with at least one of this node's
 * sockets joined to the session) and replicates them to the others over the inter-node batch:
 *
 * - `change`: one entry came or went here, numbered by this node's version counter `v`.
 * - `beat`: every `heartbeatMs`, this node's instance id and current `v`. It is the liveness
 *   signal: a node not heard from for `timeoutMs` is dropped, and its principals go offline
 *   wherever no other node still holds them. It is also the anti-entropy check: a receiver whose
 *   copy of that node is behind `v` (a lost NOTIFY, a batch evicted from a stuck queue, a
 *   listener that was down) asks for that node's state again.
 * - `sync`: asks one node (or every node, at start) for its full state.
 * - `state`: a node's full state at version `v`, in parts small enough for one NOTIFY each.
 *
 * So steady state costs one tiny beat per node per interval whatever the number of sockets,
 * and full states travel only when a node starts or a copy is found stale. Instance ids are
 * `<NODE_ID>#<random>`: a node restarted under the same NODE_ID replaces its previous
 * incarnation at once instead of waiting for its timeout.
 */
import type { PresenceEntry, PresenceEvent, PrincipalKind } from "../protocol/index.js";

/** One entry in a full state: `[sessionId, principalId, kind, name, since]`. */
export type PresenceTuple = [string, string, PrincipalKind, string, number];

/** What travels between nodes, in `FanoutBatch.presence`. `node` is the sender's instance id. */
export type PresenceWire =
  | {
      t: "change";
      node: string;
      v: number;
      sessionId: string;
      principalId: string;
      kind: PrincipalKind;
      name: string;
      state: "online" | "offline";
      at: number;
    }
  | { t: "beat"; node: string; v: number }
  | { t: "sync"; node: string; of?: string }
  | { t: "state"; node: string; v: number; part: number; parts: number; entries: PresenceTuple[] }
  | { t: "bye"; node: string };

/** Bytes of entries per `state` part: one part per NOTIFY, never an attachment. */
const STATE_PART_BYTES = 3_500;

export interface PresenceMeshOptions {
  /** This process's instance id (`<NODE_ID>#<random>`). */
  instance: string;
  /** Queues an item for the other nodes (the fan-out's batch). */
  publish(item: PresenceWire): void;
  /** A principal came online or went offline in a session, as this node now sees it. */
  onChange(event: PresenceEvent): void;
  /** Milliseconds without a word after which another node counts as dead. */
  timeoutMs: number;
  /** Milliseconds between beats and liveness checks. Default a quarter of `timeoutMs`. */
  heartbeatMs?: number;
  now?: () => number;
}

export interface PresenceMesh {
  /** A principal now has a socket on this node joined to the session. */
  localOnline(sessionId: string, principalId: string, kind: PrincipalKind, name: string): void;
  /** This node's last socket of the principal left the session. */
  localOffline(sessionId: string, principalId: string): void;
  /** Items from another node. */
  receive(items: PresenceWire[]): void;
  /** Who is online in the session now, on any node. */
  list(sessionId: string): PresenceEntry[];
  /** Starts beating and checking the others (and asks them for their state). */
  start(): void;
  /** Asks every other node for its state (the listener came up: what was sent meanwhile is lost). */
  resync(): void;
  /** Stops the timers and tells the others this node is gone. */
  stop(): void;
}

interface Holder {
  kind: PrincipalKind;
  name: string;
  /** Instance → since (ms), for each node that holds the principal in the session. */
  nodes: Map<string, number>;
}

interface Entry {
  sessionId: string;
  principalId: string;
  kind: PrincipalKind;
  name: string;
  since: number;
}

interface Remote {
  lastSeen: number;
  /** Version of the last change applied in order, -1 before any state. */
  v: number;
  /** A change was missed (or none seen yet): the copy may be wrong until a `state` arrives. */
  stale: boolean;
  askedAt: number;
  entries: Map<string, Entry>;
  incoming?: { v: number; parts: number; got: Map<number, PresenceTuple[]> };
}

const keyOf = (sessionId: string, principalId: string) => `${sessionId}\n${principalId}`;
const nodeIdOf = (instance: string) => instance.slice(0, Math.max(0, instance.lastIndexOf("#")));

export function createPresenceMesh(options: PresenceMeshOptions): PresenceMesh {
  const self = options.instance;
  const now = options.now ?? Date.now;
  const heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(options.timeoutMs / 4));
  /** sessionId → principalId → holder: what `list` reads and what decides a change. */
  const index = new Map<string, Map<string, Holder>>();
  const local = new Map<string, Entry>();
  let version = 0;
  const remotes = new Map<string, Remote>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let stateQueued = false;
  let stopped = false;

  function hold(instance: string, entry: Entry, at: number) {
    let session = index.get(entry.sessionId);
    if (!session) {
      session = new Map();
      index.set(entry.sessionId, session);
    }
    let holder = session.get(entry.principalId);
    const wasOnline = holder !== undefined;
    if (!holder) {
      holder = { kind: entry.kind, name: entry.name, nodes: new Map() };
      session.set(entry.principalId, holder);
    }
    holder.kind = entry.kind;
    holder.name = entry.name;
    holder.nodes.set(instance, entry.since);
    if (!wasOnline) emit(entry.sessionId, entry.principalId, holder, "online", at);
  }

  function release(instance: string, sessionId: string, principalId: string, at: number) {
    const session = index.get(sessionId);
    const holder = session?.get(principalId);
    if (!session || !holder?.nodes.delete(instance) || holder.nodes.size > 0) return;
    session.delete(principalId);
    if (session.size === 0) index.delete(sessionId);
    emit(sessionId, principalId, holder, "offline", at);
  }

  function emit(
    sessionId: string,
    principalId: string,
    holder: Holder,
    state: "online" | "offline",
    at: number,
  ) {
    options.onChange({ sessionId, principalId, kind: holder.kind, name: holder.name, state, at });
  }

  function dropRemote(instance: string) {
    const remote = remotes.get(instance);
    if (!remote) return;
    remotes.delete(instance);
    const at = now();
    for (const entry of remote.entries.values()) {
      release(instance, entry.sessionId, entry.principalId, at);
    }
  }

  function ask(instance: string, remote: Remote) {
    remote.askedAt = now();
    options.publish({ t: "sync", node: self, of: instance });
  }

  /** Sends this node's full state once, however many asked in the same turn. */
  function queueState() {
    if (stateQueued) return;
    stateQueued = true;
    setImmediate(() => {
      stateQueued = false;
      if (stopped) return;
      const parts: PresenceTuple[][] = [[]];
      let bytes = 0;
      for (const e of local.values()) {
        const tuple: PresenceTuple = [e.sessionId, e.principalId, e.kind, e.name, e.since];
        const size = JSON.stringify(tuple).length + 1;
        if (bytes + size > STATE_PART_BYTES && (parts.at(-1) as PresenceTuple[]).length > 0) {
          parts.push([]);
          bytes = 0;
        }
        (parts.at(-1) as PresenceTuple[]).push(tuple);
        bytes += size;
      }
      parts.forEach((entries, part) => {
        options.publish({ t: "state", node: self, v: version, part, parts: parts.length, entries });
      });
    });
  }

  /** The record of another node, created (replacing an earlier incarnation) on first word. */
  function remoteOf(instance: string): Remote {
    let remote = remotes.get(instance);
    if (!remote) {
      const nodeId = nodeIdOf(instance);
      for (const other of [...remotes.keys()]) {
        if (nodeIdOf(other) === nodeId) dropRemote(other);
      }
      remote = { lastSeen: now(), v: -1, stale: true, askedAt: 0, entries: new Map() };
      remotes.set(instance, remote);
    }
    remote.lastSeen = now();
    return remote;
  }

  function applyState(instance: string, remote: Remote, v: number, tuples: PresenceTuple[]) {
    const at = now();
    const next = new Map<string, Entry>();
    for (const [sessionId, principalId, kind, name, since] of tuples) {
      next.set(keyOf(sessionId, principalId), { sessionId, principalId, kind, name, since });
    }
    for (const [key, entry] of remote.entries) {
      if (!next.has(key)) release(instance, entry.sessionId, entry.principalId, at);
    }
    remote.entries = next;
    for (const entry of next.values()) hold(instance, entry, at);
    remote.v = v;
    remote.stale = false;
  }

  function receiveOne(item: PresenceWire) {
    if (item.node === self) return;
    switch (item.t) {
      case "bye":
        dropRemote(item.node);
        return;
      case "sync":
        remoteOf(item.node);
        if (item.of === undefined || item.of === self) queueState();
        return;
      case "beat": {
        const remote = remoteOf(item.node);
        if (remote.v === -1 && item.v === 0) {
          // A node that never had an entry: nothing to ask for.
          remote.v = 0;
          remote.stale = false;
        }
        if ((remote.stale || remote.v !== item.v) && now() - remote.askedAt >= heartbeatMs) {
          ask(item.node, remote);
        }
        return;
      }
      case "change": {
        const remote = remoteOf(item.node);
        if (item.v <= remote.v) return;
        // Applied even out of order, so the change shows at once; a gap marks the copy stale
        // and a full state repairs whatever was missed.
        if (item.v !== remote.v + 1 || remote.stale) {
          remote.stale = true;
          if (now() - remote.askedAt >= heartbeatMs) ask(item.node, remote);
        } else {
          remote.v = item.v;
        }
        const key = keyOf(item.sessionId, item.principalId);
        if (item.state === "online") {
          const entry: Entry = {
            sessionId: item.sessionId,
            principalId: item.principalId,
            kind: item.kind,
            name: item.name,
            since: item.at,
          };
          remote.entries.set(key, entry);
          hold(item.node, entry, item.at);
        } else {
          remote.entries.delete(key);
          release(item.node, item.sessionId, item.principalId, item.at);
        }
        return;
      }
      case "state": {
        const remote = remoteOf(item.node);
        if (!remote.incoming || remote.incoming.v !== item.v || item.part === 0) {
          remote.incoming = { v: item.v, parts: item.parts, got: new Map() };
        }
        remote.incoming.got.set(item.part, item.entries);
        if (remote.incoming.got.size < remote.incoming.parts) return;
        const tuples = [...remote.incoming.got.values()].flat();
        remote.incoming = undefined;
        applyState(item.node, remote, item.v, tuples);
        return;
      }
    }
  }

  function tick() {
    options.publish({ t: "beat", node: self, v: version });
    const deadline = now() - options.timeoutMs;
    for (const [instance, remote] of [...remotes]) {
      if (remote.lastSeen < deadline) dropRemote(instance);
    }
  }

  function change(entry: Entry, state: "online" | "offline", at: number) {
    // After the bye the others have dropped this node: a change would bring it back to life.
    if (stopped) return;
    version++;
    options.publish({
      t: "change",
      node: self,
      v: version,
      sessionId: entry.sessionId,
      principalId: entry.principalId,
      kind: entry.kind,
      name: entry.name,
      state,
      at,
    });
  }

  return {
    localOnline(sessionId, principalId, kind, name) {
      const key = keyOf(sessionId, principalId);
      if (local.has(key)) return;
      const at = now();
      const entry: Entry = { sessionId, principalId, kind, name, since: at };
      local.set(key, entry);
      hold(self, entry, at);
      change(entry, "online", at);
    },
    localOffline(sessionId, principalId) {
      const key = keyOf(sessionId, principalId);
      const entry = local.get(key);
      if (!entry) return;
      local.delete(key);
      const at = now();
      release(self, sessionId, principalId, at);
      change(entry, "offline", at);
    },
    receive(items) {
      for (const item of items) receiveOne(item);
    },
    list(sessionId) {
      const session = index.get(sessionId);
      if (!session) return [];
      return [...session].map(([principalId, holder]) => ({
        principalId,
        kind: holder.kind,
        name: holder.name,
        since: Math.min(...holder.nodes.values()),
      }));
    },
    start() {
      if (timer) return;
      options.publish({ t: "beat", node: self, v: version });
      options.publish({ t: "sync", node: self });
      timer = setInterval(tick, heartbeatMs);
      timer.unref?.();
    },
    resync() {
      if (!stopped) options.publish({ t: "sync", node: self });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      options.publish({ t: "bye", node: self });
    },
  };
}
