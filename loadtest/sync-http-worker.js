/**
 * The other half of k6-shim.ts's synchronous `k6/http`: the shim's thread blocks in
 * `Atomics.wait` while this thread runs `fetch`, posts the answer on the port and wakes it.
 * Plain JS so Node runs it as a worker without a TypeScript loader.
 */
import { parentPort, workerData } from "node:worker_threads";

const { signal, port } = workerData;

parentPort.on("message", async (req) => {
  let answer;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body ?? undefined,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    answer = { id: req.id, status: res.status, body: await res.text() };
  } catch (err) {
    // k6 reports a request that got no response as status 0 with the error.
    answer = { id: req.id, status: 0, body: String(err?.cause ?? err) };
  }
  port.postMessage(answer);
  Atomics.store(signal, 0, req.id);
  Atomics.notify(signal, 0);
});
