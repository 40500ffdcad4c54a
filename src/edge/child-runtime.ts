/**
 * What `startDeno` and `startWorkerd` share: a runtime in a child process that reports its port
 * on a line of its own, and a handle that stops it.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface RuntimeServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the runtime (SIGTERM) and resolves once it has exited. */
  close(): Promise<void>;
}

/**
 * Resolves to the port that `portOf` finds on a line of `lines` (JSON lines), or rejects when
 * the child fails or exits first.
 */
export function waitForPort(
  child: ChildProcess,
  lines: NodeJS.ReadableStream | null | undefined,
  name: string,
  portOf: (event: Record<string, unknown>) => number | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (!lines) return reject(new Error(`${name} has no output to read its port from`));
    createInterface({ input: lines }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const port = portOf(JSON.parse(line) as Record<string, unknown>);
      if (port) resolve(port);
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
}

export function runtimeServer(
  child: ChildProcess,
  host: string,
  port: number,
  afterExit: () => void = () => {},
): RuntimeServer {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    url: `http://${host}:${port}`,
    port,
    process: child,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      afterExit();
    },
  };
}
