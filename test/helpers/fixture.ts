/**
 * The setup most test files share, in one place: a gateway for the file that cleans up after
 * itself, sockets connected as a principal, and sessions made straight through the service.
 */
import type { Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  type ConnectOptions,
  closeAllSockets,
  connect,
  type StartOptions,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./gateway.js";

export interface SharedGatewayOptions extends StartOptions {
  /** Close every socket after each test (default), or only after the file's last one. */
  sockets?: "per-test" | "per-file";
  /**
   * Another node of `joins`'s cluster: on its database, started after it (declare it after),
   * and ready once both cluster listeners are up, so a publish from either reaches the other.
   */
  joins?: TestGateway;
}

/**
 * A gateway on a fresh database, started before the file's (or describe block's) tests and
 * closed after them, with its sockets. Use it at the top level of a file or a describe block;
 * its fields are there once the tests run.
 */
export function sharedGateway(options: SharedGatewayOptions = {}): TestGateway {
  const { sockets = "per-test", joins, ...start } = options;
  let node: TestGateway | undefined;
  beforeAll(async () => {
    node = await startTestGateway(joins ? { ...start, db: joins.db } : start);
    if (joins) await clusterUp(joins, node);
  });
  if (sockets === "per-test") afterEach(() => closeAllSockets());
  afterAll(async () => {
    closeAllSockets();
    await node?.close();
  });
  const started = (): TestGateway => {
    if (!node) throw new Error("sharedGateway: the gateway starts in beforeAll; use it in a test");
    return node;
  };
  return {
    get gateway() {
      return started().gateway;
    },
    get url() {
      return started().url;
    },
    get db() {
      return started().db;
    },
    token: (sub, kind, expiresInSeconds) => started().token(sub, kind, expiresInSeconds),
    close: () => started().close(),
  };
}

/** Waits until every node's cluster listener is up, so a publish from one reaches the others. */
export async function clusterUp(...nodes: TestGateway[]): Promise<void> {
  await waitFor(
    () => nodes.every((node) => node.gateway.realtime.clusterReady()),
    10_000,
    "listeners",
  );
}

/** A socket on `/clients` with a token for user `sub`. */
export async function connectUser(
  node: TestGateway,
  sub: string,
  options: Omit<ConnectOptions, "token"> = {},
): Promise<Socket> {
  return connect(node.url, "/clients", { ...options, token: await node.token(sub, "user") });
}

/** A socket on `/agents` with a token for agent `sub`. */
export async function connectAgent(
  node: TestGateway,
  sub: string,
  options: Omit<ConnectOptions, "token"> = {},
): Promise<Socket> {
  return connect(node.url, "/agents", { ...options, token: await node.token(sub, "agent") });
}

/** A session owned by `owner` (a user) with `members` (agents or users). */
export async function createSession(node: TestGateway, owner: string, members: string[]) {
  return node.gateway.messaging.createSession({ id: owner, kind: "user" }, { members });
}

/** An HTTP call to `node` as principal `sub`: the status and the JSON body ({} when empty). */
export async function httpAs(
  node: TestGateway,
  sub: string,
  kind: "agent" | "user",
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await node.token(sub, kind)}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
