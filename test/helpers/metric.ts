import type { Metrics } from "../../src/observability/metrics.js";

/** The current value of `tkr_socket_drops_total` for one reason (0 before the first, or without it). */
export async function drops(metrics: Metrics, reason: string): Promise<number> {
  const counter = (metrics as Partial<Metrics>).socketDrops;
  if (!counter) return 0;
  const { values } = await counter.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}
