/**
 * The private members of `@socket.io/postgres-adapter` that adapter.ts patches or reads, checked
 * when the cluster is created: an upgrade that renamed one must stop the start with a clear
 * error, not leave a node that silently lost its workarounds (a LISTEN drop killing the
 * process, leaked pool slots, two listeners after a reconnection). package.json pins the version.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The adapter release whose internals adapter.ts knows; package.json pins exactly this one. */
export const PINNED_ADAPTER_VERSION = "0.5.0";

export interface AdapterInternals {
  version: string;
  /** `PubSubClient.prototype` (dist/util.js): the one LISTEN client shared by all namespaces. */
  pubSubClient: Record<string, unknown>;
  /** `PostgresAdapter.prototype`, with what it inherits from socket.io-adapter. */
  adapter: Record<string, unknown>;
}

export function loadAdapterInternals(): AdapterInternals {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve("@socket.io/postgres-adapter"));
  const { version } = JSON.parse(readFileSync(path.join(dist, "..", "package.json"), "utf8")) as {
    version: string;
  };
  const util = require(path.join(dist, "util.js")) as {
    PubSubClient?: { prototype: Record<string, unknown> };
  };
  const index = require(path.join(dist, "index.js")) as {
    PostgresAdapter?: { prototype: Record<string, unknown> };
  };
  return {
    version,
    pubSubClient: util.PubSubClient?.prototype ?? {},
    adapter: index.PostgresAdapter?.prototype ?? {},
  };
}

/** Throws naming the first missing member; returns quietly when all are there. */
export function checkAdapterInternals(internals: AdapterInternals = loadAdapterInternals()): void {
  const fail = (member: string) => {
    throw new Error(
      `@socket.io/postgres-adapter ${internals.version} lacks ${member}, which the cluster ` +
        `workarounds in src/cluster/adapter.ts patch; they are written for ${PINNED_ADAPTER_VERSION} ` +
        `(the version package.json pins): install ${PINNED_ADAPTER_VERSION} or port the workarounds`,
    );
  };
  for (const method of ["scheduleReconnection", "initClient", "close"]) {
    if (typeof internals.pubSubClient[method] !== "function") fail(`PubSubClient.${method}()`);
  }
  // `client` (the LISTEN connection) and `channels` are instance fields: their assignments in
  // the methods that set them are the only trace of them before a client exists.
  const source = String(internals.pubSubClient.initClient);
  if (!/this\.client\s*=/.test(source)) fail("PubSubClient.client (set in initClient)");
  if (!/this\.channels\b/.test(source)) fail("PubSubClient.channels (read in initClient)");
  if (typeof internals.adapter.publishAndReturnOffset !== "function") {
    fail("PostgresAdapter.publishAndReturnOffset()");
  }
}
