/**
 * Forked TypeScript children (server nodes and load workers) with request/response over IPC.
 * Children run through tsx's loader, exit when their parent goes away (IPC disconnect), and keep
 * their last output lines so a failure can say what the child said.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const TSX_LOADER = pathToFileURL(require.resolve("tsx")).href;

export interface Request {
  id: number;
  type: string;
  [key: string]: unknown;
}

export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };

export interface ChildHandle {
  name: string;
  process: ChildProcess;
  /** Sends a request and resolves with the child's reply value. */
  call<T>(type: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Messages the child sends on its own (progress ticks). */
  onEvent(listener: (event: Record<string, unknown>) => void): void;
  /** The child's last output lines. */
  tail(): string;
  /** Asks the child to stop (`close` request), then kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** Module under bench/lib, e.g. "server-child.ts". */
  module: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Resolves when the child sends `{ type: "ready" }`; rejects after this long. Default 60 s. */
  readyTimeoutMs?: number;
}

export async function spawnChild(options: SpawnOptions): Promise<{
  child: ChildHandle;
  ready: Record<string, unknown>;
}> {
  const file = fileURLToPath(new URL(options.module, import.meta.url));
  const proc = fork(file, options.args ?? [], {
    execArgv: ["--import", TSX_LOADER, "--expose-gc", ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "advanced",
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      lines.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (lines.length > 40) lines.shift();
    }
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);

  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners: Array<(event: Record<string, unknown>) => void> = [];
  let readyResolve: ((v: Record<string, unknown>) => void) | undefined;
  let exited = false;

  const fail = (why: string) => {
    for (const p of pending.values()) p.reject(new Error(`${options.name}: ${why}\n${tail()}`));
    pending.clear();
  };
  const tail = () => lines.map((l) => `    | ${l}`).join("\n");

  proc.on("message", (raw) => {
    const msg = raw as Record<string, unknown>;
    if (typeof msg.id === "number" && "ok" in msg) {
      const reply = msg as Reply;
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(`${options.name}: ${reply.error}`));
      return;
    }
    if (msg.type === "ready") {
      readyResolve?.(msg);
      return;
    }
    for (const listener of listeners) listener(msg);
  });
  const exitPromise = new Promise<void>((resolve) => {
    proc.on("exit", (code, signal) => {
      exited = true;
      fail(`exited (code ${code}, signal ${signal})`);
      resolve();
    });
  });

  const child: ChildHandle = {
    name: options.name,
    process: proc,
    call<T>(type: string, payload: Record<string, unknown> = {}, timeoutMs = 120_000) {
      if (exited) return Promise.reject(new Error(`${options.name} has exited\n${tail()}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: no answer to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        proc.send({ id, type, ...payload });
      });
    },
    onEvent(listener) {
      listeners.push(listener);
    },
    tail,
    async stop(graceMs = 10_000) {
      if (exited) return;
      const killer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      try {
        await child.call("close", {}, graceMs);
      } catch {
        // Killed below if it does not exit.
      }
      await exitPromise;
      clearTimeout(killer);
    },
  };

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(
        new Error(
          `${options.name} did not start within ${options.readyTimeoutMs ?? 60_000} ms\n${tail()}`,
        ),
      );
    }, options.readyTimeoutMs ?? 60_000);
    readyResolve = (v) => {
      clearTimeout(timer);
      resolve(v);
    };
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited before it was ready\n${tail()}`));
    });
  });
  return { child, ready };
}

/**
 * The child side: answers requests with `handlers`, exits when the parent goes away, and sends
 * `ready` with `info`.
 */
export function serveParent(
  handlers: Record<string, (request: Request) => unknown>,
  onClose: () => Promise<void>,
): { ready(info: Record<string, unknown>): void; emit(event: Record<string, unknown>): void } {
  const send = (msg: unknown) => {
    if (process.connected) process.send?.(msg);
  };
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    try {
      await onClose();
    } finally {
      process.exit(0);
    }
  };
  process.on("disconnect", () => void close());
  process.on("message", (raw) => {
    const request = raw as Request;
    if (request.type === "close") {
      send({ id: request.id, ok: true, value: null });
      void close();
      return;
    }
    const handler = handlers[request.type];
    if (!handler) {
      send({ id: request.id, ok: false, error: `unknown request ${request.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request))
      .then(
        (value) => send({ id: request.id, ok: true, value: value ?? null }),
        (err: unknown) =>
          send({
            id: request.id,
            ok: false,
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      );
  });
  return { ready: (info) => send({ type: "ready", ...info }), emit: send };
}
