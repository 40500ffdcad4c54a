/**
 * The load worker's side of the streams and people scenarios: token streams (`stream:start`,
 * `stream:delta` at a fixed rate, `stream:end`), `typing` once a second and read `receipt`s,
 * and watching `presence`. Both servers get the same events; only the gateway stores anything.
 *
 * Delta latency: each delta's text starts with its measured flag and send time
 * (`1<CLOCK_MONOTONIC ms> `), so any worker can read it. Typing latency: the typing event
 * carries no payload of ours, so every socket of a session sits in one worker (the scenario
 * places them so) and a receiver looks up when that principal last sent `start`; with one start
 * a second per principal this is exact while delivery takes under a second.
 */
import type { Socket } from "socket.io-client";
import { Histogram, type HistogramData, nowMs } from "./histogram.js";
import type { Held } from "./load-worker.js";

export interface StreamsRunRequest {
  runId: string;
  group: string;
  warmupMs: number;
  measureMs: number;
  /** Deltas per second per stream. */
  deltasPerSecond: number;
  /** Deltas in one stream; the next stream starts when it ends. */
  deltasPerStream: number;
  ackTimeoutMs: number;
}

export interface StreamsRunResult {
  deltasSent: number;
  measuredDeltas: number;
  /** Deliveries the measured deltas should cause. */
  expected: number;
  streamsStarted: number;
  /** `stream:end` acked as a new stored message (gateway) or relayed (plain). */
  streamsEnded: number;
  endedIds: string[];
  errors: Record<string, number>;
  startAck: HistogramData;
  endAck: HistogramData;
}

export interface PeopleRunRequest {
  runId: string;
  group: string;
  warmupMs: number;
  measureMs: number;
  typingIntervalMs: number;
  receiptIntervalMs: number;
  /** Receipts climb 1, 2, 3 … up to this (the seeded head of each session). */
  receiptMaxSeq: number;
  ackTimeoutMs: number;
}

export interface PeopleRunResult {
  typingSent: number;
  measuredTyping: number;
  expected: number;
  receiptsSent: number;
  receiptsAcked: number;
  errors: Record<string, number>;
  receiptAck: HistogramData;
}

export interface LiveCollected {
  received: number;
  warmReceived: number;
  latency: HistogramData;
  /** Streams: `stream:start` and final `message` events seen, aborts, deltas out of order. */
  starts: number;
  finals: number;
  aborts: number;
  outOfOrder: number;
  /** People: `receipt` events seen, typing starts from a principal this worker never saw send. */
  receipts: number;
  unmatched: number;
}

interface Receiving {
  hist: Histogram;
  received: number;
  warmReceived: number;
  starts: number;
  finals: number;
  aborts: number;
  outOfOrder: number;
  receipts: number;
  unmatched: number;
  detach: Array<() => void>;
}

type Ack = { status?: string; code?: string; duplicate?: boolean };

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function emitAck(socket: Socket, event: string, payload: unknown, timeoutMs: number) {
  return new Promise<Ack>((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: Ack) => {
      resolve(err ? { status: "error", code: "TIMEOUT" } : ack);
    });
  });
}

function count(errors: Record<string, number>, ack: Ack) {
  const code = ack?.code ?? "UNKNOWN";
  errors[code] = (errors[code] ?? 0) + 1;
}

export function liveHandlers(groupOf: (group: string) => Held[], workerIndex: number) {
  const runs = new Map<string, Receiving>();
  /** People: when each principal held here last sent `start`, and whether it was measured. */
  const lastTyping = new Map<string, { t: number; m: number }>();
  const watches = new Map<
    string,
    { online: Record<string, number>; offline: Record<string, number>; detach: () => void }
  >();

  function receiving(runId: string): Receiving {
    let run = runs.get(runId);
    if (!run) {
      run = {
        hist: new Histogram(),
        received: 0,
        warmReceived: 0,
        starts: 0,
        finals: 0,
        aborts: 0,
        outOfOrder: 0,
        receipts: 0,
        unmatched: 0,
        detach: [],
      };
      runs.set(runId, run);
    }
    return run;
  }

  // biome-ignore lint/suspicious/noExplicitAny: each listener types the payload of its event
  function listen(run: Receiving, socket: Socket, event: string, fn: (e: any) => void) {
    socket.on(event, fn);
    run.detach.push(() => socket.off(event, fn));
  }

  function listenStreams(runId: string, group: Held[]) {
    const run = receiving(runId);
    const prefix = `${runId}-`;
    for (const h of group) {
      const nextIndex = new Map<string, number>();
      listen(run, h.socket, "stream:start", (e: { id: string }) => {
        if (e.id.startsWith(prefix)) run.starts++;
      });
      listen(run, h.socket, "stream:abort", (e: { id: string }) => {
        if (e.id.startsWith(prefix)) run.aborts++;
      });
      listen(run, h.socket, "message", (e: { id: string }) => {
        if (!e.id.startsWith(prefix)) return;
        run.finals++;
        nextIndex.delete(e.id);
      });
      listen(run, h.socket, "stream:delta", (e: { id: string; index: number; delta: string }) => {
        if (!e.id.startsWith(prefix)) return;
        // The plain server's adapter delivers locally only after its own NOTIFY, sent on any
        // free pooled connection, so its deltas can overtake each other: counted, not fixed.
        if (e.index !== (nextIndex.get(e.id) ?? 0)) run.outOfOrder++;
        nextIndex.set(e.id, e.index + 1);
        const space = e.delta.indexOf(" ");
        const t = Number(e.delta.slice(1, space));
        if (e.delta[0] === "1") {
          run.received++;
          run.hist.record(nowMs() - t);
        } else run.warmReceived++;
      });
    }
  }

  async function streamsRun(r: StreamsRunRequest): Promise<StreamsRunResult> {
    const group = groupOf(r.group);
    listenStreams(r.runId, group);
    const senders = group.filter((h) => h.send && h.sessionId);
    const started = nowMs();
    const measureFrom = started + r.warmupMs;
    const stopAt = measureFrom + r.measureMs;
    const interval = 1000 / r.deltasPerSecond;
    const out: StreamsRunResult = {
      deltasSent: 0,
      measuredDeltas: 0,
      expected: 0,
      streamsStarted: 0,
      streamsEnded: 0,
      endedIds: [],
      errors: {},
      startAck: { pairs: [], count: 0, maxMs: 0, sumMs: 0 },
      endAck: { pairs: [], count: 0, maxMs: 0, sumMs: 0 },
    };
    const startAck = new Histogram();
    const endAck = new Histogram();
    let n = 0;
    let outstanding = 0;
    let settled: (() => void) | undefined;
    const onDeltaAck = (ack: Ack) => {
      outstanding--;
      if (ack?.status !== "success") count(out.errors, ack);
      if (outstanding === 0) settled?.();
    };
    const loop = async (h: Held, offset: number) => {
      const sessionId = h.sessionId as string;
      await sleep(offset);
      while (nowMs() < stopAt) {
        const id = `${r.runId}-${workerIndex}-${n++}`;
        const t0 = nowMs();
        const start = await emitAck(h.socket, "stream:start", { id, sessionId }, r.ackTimeoutMs);
        if (start?.status !== "success") {
          count(out.errors, start);
          await sleep(interval);
          continue;
        }
        startAck.record(nowMs() - t0);
        out.streamsStarted++;
        let next = nowMs();
        for (let index = 0; index < r.deltasPerStream && nowMs() < stopAt; index++) {
          await sleep(next - nowMs());
          next += interval;
          const t = nowMs();
          const m = t >= measureFrom ? 1 : 0;
          out.deltasSent++;
          if (m) {
            out.measuredDeltas++;
            out.expected += h.receivers;
          }
          outstanding++;
          h.socket
            .timeout(r.ackTimeoutMs)
            .emit(
              "stream:delta",
              { id, sessionId, index, delta: `${m}${t.toFixed(3)} ` },
              (err: Error | null, ack: Ack) =>
                onDeltaAck(err ? { status: "error", code: "TIMEOUT" } : ack),
            );
        }
        // The next stream starts without waiting for this end's ack (its store is one database
        // write), as an agent answering the next message would: the delta rate holds.
        const t1 = nowMs();
        ends.push(
          emitAck(h.socket, "stream:end", { id, sessionId }, r.ackTimeoutMs).then((end) => {
            if (end?.status === "success" && !end.duplicate) {
              endAck.record(nowMs() - t1);
              out.streamsEnded++;
              out.endedIds.push(id);
            } else count(out.errors, end);
          }),
        );
      }
    };
    const ends: Promise<void>[] = [];
    // Streams start spread over one delta interval, as independent agents would.
    await Promise.all(senders.map((h, i) => loop(h, (i * interval) / senders.length)));
    await Promise.all(ends);
    if (outstanding > 0) {
      await new Promise<void>((resolve) => {
        settled = resolve;
        setTimeout(resolve, r.ackTimeoutMs);
      });
    }
    out.startAck = startAck.toData();
    out.endAck = endAck.toData();
    return out;
  }

  function listenPeople(runId: string, group: Held[]) {
    const run = receiving(runId);
    for (const h of group) {
      listen(run, h.socket, "typing", (e: { principalId: string; state: string }) => {
        if (e.state !== "start") return;
        const sent = lastTyping.get(e.principalId);
        if (!sent) {
          run.unmatched++;
          return;
        }
        if (sent.m === 1) {
          run.received++;
          run.hist.record(nowMs() - sent.t);
        } else run.warmReceived++;
      });
      listen(run, h.socket, "receipt", () => {
        run.receipts++;
      });
    }
  }

  async function peopleRun(r: PeopleRunRequest): Promise<PeopleRunResult> {
    const group = groupOf(r.group);
    listenPeople(r.runId, group);
    const started = nowMs();
    const measureFrom = started + r.warmupMs;
    const stopAt = measureFrom + r.measureMs;
    const out: PeopleRunResult = {
      typingSent: 0,
      measuredTyping: 0,
      expected: 0,
      receiptsSent: 0,
      receiptsAcked: 0,
      errors: {},
      receiptAck: { pairs: [], count: 0, maxMs: 0, sumMs: 0 },
    };
    const receiptAck = new Histogram();
    let outstanding = 0;
    let settled: (() => void) | undefined;
    const done = () => {
      outstanding--;
      if (outstanding === 0) settled?.();
    };
    const typingLoop = async (h: Held, offset: number) => {
      await sleep(offset);
      let next = nowMs();
      while (next < stopAt) {
        await sleep(next - nowMs());
        next += r.typingIntervalMs;
        const t = nowMs();
        const m = t >= measureFrom ? 1 : 0;
        lastTyping.set(h.sub, { t, m });
        out.typingSent++;
        if (m) {
          out.measuredTyping++;
          out.expected += h.receivers;
        }
        outstanding++;
        h.socket
          .timeout(r.ackTimeoutMs)
          .emit(
            "typing",
            { sessionId: h.sessionId, state: "start" },
            (err: Error | null, ack: Ack) => {
              if (err || ack?.status !== "success")
                count(out.errors, err ? { code: "TIMEOUT" } : ack);
              done();
            },
          );
      }
    };
    const receiptLoop = async (h: Held, offset: number) => {
      await sleep(offset);
      let next = nowMs();
      let seq = 0;
      while (next < stopAt) {
        await sleep(next - nowMs());
        next += r.receiptIntervalMs;
        seq = Math.min(seq + 1, r.receiptMaxSeq);
        out.receiptsSent++;
        outstanding++;
        const t = nowMs();
        h.socket
          .timeout(r.ackTimeoutMs)
          .emit(
            "receipt",
            { sessionId: h.sessionId, seq, kind: "read" },
            (err: Error | null, ack: Ack) => {
              if (err || ack?.status !== "success")
                count(out.errors, err ? { code: "TIMEOUT" } : ack);
              else {
                out.receiptsAcked++;
                receiptAck.record(nowMs() - t);
              }
              done();
            },
          );
      }
    };
    const senders = group.filter((h) => h.sessionId);
    await Promise.all(
      senders.flatMap((h, i) => [
        typingLoop(h, (i * r.typingIntervalMs) / senders.length),
        receiptLoop(h, (i * r.receiptIntervalMs) / senders.length),
      ]),
    );
    if (outstanding > 0) {
      await new Promise<void>((resolve) => {
        settled = resolve;
        setTimeout(resolve, r.ackTimeoutMs);
      });
    }
    out.receiptAck = receiptAck.toData();
    return out;
  }

  function collect(runId: string): LiveCollected {
    const run = receiving(runId);
    runs.delete(runId);
    for (const detach of run.detach) detach();
    lastTyping.clear();
    return {
      received: run.received,
      warmReceived: run.warmReceived,
      latency: run.hist.toData(),
      starts: run.starts,
      finals: run.finals,
      aborts: run.aborts,
      outOfOrder: run.outOfOrder,
      receipts: run.receipts,
      unmatched: run.unmatched,
    };
  }

  return {
    streamsRun: (r: Record<string, unknown>) => streamsRun(r as unknown as StreamsRunRequest),
    peopleRun: (r: Record<string, unknown>) => peopleRun(r as unknown as PeopleRunRequest),
    liveReceived: (r: Record<string, unknown>) => runs.get(String(r.runId))?.received ?? 0,
    liveCollect: (r: Record<string, unknown>) => collect(String(r.runId)),
    /** Starts recording `presence` events on a group's sockets: first time each principal was
     * seen going online and offline. */
    presenceWatch(r: Record<string, unknown>) {
      const watch = {
        online: {} as Record<string, number>,
        offline: {} as Record<string, number>,
        detach: () => {},
      };
      const sockets = groupOf(String(r.group)).map((h) => h.socket);
      const fn = (e: { principalId: string; state: string }) => {
        const seen = e.state === "offline" ? watch.offline : watch.online;
        seen[e.principalId] ??= nowMs();
      };
      for (const s of sockets) s.on("presence", fn);
      watch.detach = () => {
        for (const s of sockets) s.off("presence", fn);
      };
      watches.set(String(r.watchId), watch);
    },
    presenceSeen(r: Record<string, unknown>) {
      const watch = watches.get(String(r.watchId));
      if (r.stop) {
        watch?.detach();
        watches.delete(String(r.watchId));
      }
      return { online: watch?.online ?? {}, offline: watch?.offline ?? {} };
    },
    /** Each connected socket of the group (with a session) joins it again: who its ack says is online. */
    async presenceOfJoin(r: Record<string, unknown>) {
      // Sockets of a killed node are gone: asking them would only wait for the timeout.
      const group = groupOf(String(r.group)).filter((h) => h.sessionId && h.socket.connected);
      return Promise.all(
        group.map(async (h) => {
          const ack = (await emitAck(
            h.socket,
            "join_session",
            { sessionId: h.sessionId },
            10_000,
          )) as Ack & { presence?: Array<{ principalId: string }> };
          return {
            sub: h.sub,
            sessionId: h.sessionId,
            status: ack.status,
            online: (ack.presence ?? []).map((p) => p.principalId),
          };
        }),
      );
    },
  };
}
