/**
 * Reports the open session's newest shown message as read through the SDK's `markRead`
 * (which coalesces), now and whenever a newer one shows or the tab becomes visible again.
 */
import { useEffect, useRef, useState } from "react";
import type { GatewayClient } from "../sdk/index.js";
import { nextReadMark } from "./read-mark.js";

export function useMarkRead(
  client: GatewayClient | undefined,
  sessionId: string,
  newestSeq: number | undefined,
): void {
  const marked = useRef(0);
  const [visible, setVisible] = useState(() => document.visibilityState === "visible");

  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState === "visible");
    document.addEventListener("visibilitychange", onChange);
    return () => document.removeEventListener("visibilitychange", onChange);
  }, []);

  useEffect(() => {
    const seq = nextReadMark(marked.current, newestSeq, visible);
    if (!client || seq === undefined) return;
    marked.current = seq;
    client.markRead(sessionId, seq);
  }, [client, sessionId, newestSeq, visible]);
}
