import { describe, expect, it } from "vitest";
import type { JoinResult } from "../sdk/index.js";
import { holdSession } from "./session-joins.js";

/** Records what the web asks of the SDK; the SDK's own join bookkeeping is not under test. */
function recordingClient() {
  const calls: string[] = [];
  return {
    calls,
    joinSession(sessionId: string, options?: { lastSeq?: number }): Promise<JoinResult> {
      calls.push(`join ${sessionId} ${options?.lastSeq ?? "-"}`);
      return Promise.resolve({ sessionId, headSeq: 0 });
    },
    leaveSession(sessionId: string): Promise<void> {
      calls.push(`leave ${sessionId}`);
      return Promise.resolve();
    },
  };
}

describe("session holds", () => {
  it("leaves a session only when its last holder lets go, once however often release is called", () => {
    const client = recordingClient();
    const list = holdSession(client, "s1", 4);
    const open = holdSession(client, "s1");
    open.release();
    open.release();
    expect(client.calls).toEqual(["join s1 4", "join s1 -"]);
    list.release();
    expect(client.calls).toEqual(["join s1 4", "join s1 -", "leave s1"]);
  });

  it("keeps the holds of two clients and two sessions apart", () => {
    const a = recordingClient();
    const b = recordingClient();
    const a1 = holdSession(a, "s1");
    holdSession(a, "s2");
    holdSession(b, "s1");
    a1.release();
    expect(a.calls).toEqual(["join s1 -", "join s2 -", "leave s1"]);
    expect(b.calls).toEqual(["join s1 -"]);
  });
});
