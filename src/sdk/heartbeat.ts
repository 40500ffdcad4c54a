/**
 * Application-level heartbeat. Engine.IO's own ping notices a dead link only after
 * pingInterval + pingTimeout (45 s with the server's defaults) and only from the server's
 * clock; a link that stays open but passes nothing (a NAT or proxy that lost the flow) looks
 * connected to the socket meanwhile. Here the client asks: a `ping` event whose ack does not come
 * back within `timeoutMs` marks the connection a zombie, within `intervalMs + timeoutMs`.
 */
import { GatewayTimeoutError } from "./errors.js";

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Sends one ping; rejects with GatewayTimeoutError when unanswered within `timeoutMs`. */
  ping: (timeoutMs: number) => Promise<unknown>;
  /** Called once per zombie; the heartbeat stays stopped until `start()`. */
  onDead: (error: GatewayTimeoutError) => void;
}

export class Heartbeat {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by start/stop, so a ping answered after a restart is ignored. */
  private generation = 0;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.stop();
    if (this.options.intervalMs <= 0) return;
    this.schedule(++this.generation);
  }

  stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(generation: number): void {
    this.timer = setTimeout(() => {
      this.options.ping(this.options.timeoutMs).then(
        () => {
          if (generation === this.generation) this.schedule(generation);
        },
        (error: unknown) => {
          if (generation !== this.generation) return;
          if (error instanceof GatewayTimeoutError) {
            this.stop();
            this.options.onDead(new GatewayTimeoutError("heartbeat", this.options.timeoutMs));
            return;
          }
          // An answer, even a refusal (RATE_LIMITED), proves the link is alive. A network
          // error means the socket already knows it is down; the reconnect restarts us.
          this.schedule(generation);
        },
      );
    }, this.options.intervalMs);
  }
}
