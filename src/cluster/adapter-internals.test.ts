import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type AdapterInternals,
  checkAdapterInternals,
  loadAdapterInternals,
  PINNED_ADAPTER_VERSION,
} from "./adapter-internals.js";

/** The installed internals with one member taken away or replaced. */
function without(part: "pubSubClient" | "adapter", member: string, value?: unknown) {
  const real = loadAdapterInternals();
  const changed: AdapterInternals = {
    ...real,
    pubSubClient: Object.create(real.pubSubClient) as Record<string, unknown>,
    adapter: Object.create(real.adapter) as Record<string, unknown>,
  };
  // Shadowing on a child prototype leaves the installed package untouched.
  Object.defineProperty(changed[part], member, { value });
  return changed;
}

describe("the postgres adapter's internals that the cluster patches", () => {
  it("are all there in the installed adapter, which is the one package.json pins exactly", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies["@socket.io/postgres-adapter"]).toBe(PINNED_ADAPTER_VERSION);
    expect(loadAdapterInternals().version).toBe(PINNED_ADAPTER_VERSION);
    expect(() => checkAdapterInternals()).not.toThrow();
  });

  it.each([
    ["pubSubClient", "scheduleReconnection", "PubSubClient.scheduleReconnection()"],
    ["pubSubClient", "initClient", "PubSubClient.initClient()"],
    ["pubSubClient", "close", "PubSubClient.close()"],
    ["adapter", "publishAndReturnOffset", "PostgresAdapter.publishAndReturnOffset()"],
  ] as const)(
    "stop the start naming %s.%s and the pinned version when it is gone",
    (part, member, named) => {
      expect(() => checkAdapterInternals(without(part, member))).toThrow(
        `lacks ${named}, which the cluster workarounds in src/cluster/adapter.ts patch; they are written for ${PINNED_ADAPTER_VERSION}`,
      );
    },
  );

  it("stop the start when initClient no longer keeps its connection in `client`", () => {
    const renamed = without(
      "pubSubClient",
      "initClient",
      async function initClient(this: {
        channels: Set<string>;
        listener?: unknown;
      }) {
        this.listener = this.channels;
      },
    );
    expect(() => checkAdapterInternals(renamed)).toThrow(/lacks PubSubClient\.client .*0\.5\.0/);
  });
});
