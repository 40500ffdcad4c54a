/**
 * A gateway as its own process (`node --import tsx src/main.ts`, or a built entry point), for
 * what only a process shows: signals, exit codes, start times, a kill -9 and a restart.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ChildGateway {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Milliseconds from spawn to the "gateway listening" log line. */
  startMs: number;
  /** Every stdout/stderr line so far. */
  output: string[];
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  exited: Promise<number | null>;
}

export interface ChildOptions {
  env: Record<string, string>;
  /** Arguments to node; default `--import tsx src/main.ts`. */
  args?: string[];
  timeoutMs?: number;
}

export async function startChildGateway(options: ChildOptions): Promise<ChildGateway> {
  const started = performance.now();
  const proc = spawn(process.execPath, options.args ?? ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gateway did not start:\n${output.join("\n")}`)),
      options.timeoutMs ?? 30_000,
    );
    const onLine = (line: string) => {
      output.push(line);
      const match = /"port":(\d+)[^\n]*gateway listening/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      let buffered = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output.join("\n")}`));
    });
  });
  const startMs = Math.round(performance.now() - started);
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    startMs,
    output,
    exited,
    async stop(signal = "SIGTERM") {
      const at = performance.now();
      proc.kill(signal);
      const code = await exited;
      return { code, ms: Math.round(performance.now() - at) };
    },
  };
}
