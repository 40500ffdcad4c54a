/**
 * The one wrapper every client event goes through: parse with zod, run, and always answer the
 * ack shape of PROTOCOL.md section 4. Unknown errors become INTERNAL and are logged with the
 * stack; nothing but the code and a safe message reaches the client.
 */
import type { z } from "zod";
import { isUnavailable } from "../messaging/index.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import {
  type AckError,
  type ClientEventName,
  describeZodError,
  type EventResults,
  GatewayError,
  RETRYABLE,
} from "../protocol/index.js";
import type { GatewaySocket } from "./types.js";

export function toAckError(err: unknown, log: Logger, context: Record<string, unknown>): AckError {
  if (err instanceof GatewayError) {
    return { status: "error", code: err.code, message: err.message, retryable: err.retryable };
  }
  if (isUnavailable(err)) {
    return {
      status: "error",
      code: "UNAVAILABLE",
      message: "The database cannot be reached; nothing was stored",
      retryable: true,
    };
  }
  log.error({ err, ...context }, "unhandled error in event handler");
  return {
    status: "error",
    code: "INTERNAL",
    message: "Internal error",
    retryable: RETRYABLE.INTERNAL,
  };
}

/** Counts handlers still running, so shutdown can wait for them. */
export class InflightTracker {
  private count = 0;
  private waiters: Array<() => void> = [];

  track<T>(promise: Promise<T>): Promise<T> {
    this.count++;
    return promise.finally(() => {
      this.count--;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface AckDeps {
  logger: Logger;
  metrics: Metrics;
  inflight: InflightTracker;
}

export type EventHandler<E extends ClientEventName, S extends z.ZodType> = (
  payload: z.infer<S>,
  socket: GatewaySocket,
) => Promise<EventResults[E]> | EventResults[E];

/** Runs one client event for `socket`; `args` as the client sent them, the ack last if any. */
export type EventRunner = (socket: GatewaySocket, args: unknown[]) => void;

/**
 * The runner for `event`: one function shared by every socket (the socket is an argument, not a
 * closure's). The payload is the first argument, the ack the last when it is a function; an
 * event without an ack is processed the same way.
 */
export function defineEvent<E extends ClientEventName, S extends z.ZodType>(
  deps: AckDeps,
  event: E,
  schema: S,
  handler: EventHandler<E, S>,
): EventRunner {
  const run = async (socket: GatewaySocket, payload: unknown) => {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      throw new GatewayError(
        "INVALID_PAYLOAD",
        `Invalid ${event} payload: ${describeZodError(parsed.error)}`,
      );
    }
    return handler(parsed.data, socket);
  };
  return (socket, args) => {
    const ack =
      typeof args.at(-1) === "function" ? (args.pop() as (r: unknown) => void) : undefined;
    const started = performance.now();
    void deps.inflight.track(
      run(socket, args[0])
        .then(
          (result) => ({ status: "success" as const, ...result }),
          (err: unknown) => {
            const error = toAckError(err, deps.logger, { event, socket: socket.id });
            deps.metrics.errors.inc({ code: error.code, surface: "socket" });
            if (error.code === "INTERNAL" || error.code === "UNAVAILABLE") {
              deps.metrics.socket.errors.server_errors++;
            }
            return error;
          },
        )
        .then((response) => {
          deps.metrics.ackLatency.observe({ event }, (performance.now() - started) / 1000);
          ack?.(response);
        }),
    );
  };
}

/** Answers an event the server refuses before any handler runs (unknown event, rate limit). */
export function refuse(args: unknown[], error: AckError): void {
  const ack = args.at(-1);
  if (typeof ack === "function") ack(error);
}
