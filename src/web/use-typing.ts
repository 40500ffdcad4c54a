/**
 * Who else is typing in the open session, from the SDK's `typing` events. The server follows
 * every `start` with a `stop` (PROTOCOL.md `typing`), so no timers here; a lost connection
 * clears the list, since the stops sent meanwhile never arrive.
 */
import { useEffect, useState } from "react";
import type { GatewayClient } from "../sdk/index.js";

/** Names typing now, in the order they started. */
export function useTyping(
  client: GatewayClient | undefined,
  sessionId: string,
  selfId: string,
): string[] {
  const [typing, setTyping] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    setTyping(new Map());
    if (!client) return;
    const offTyping = client.on("typing", (event) => {
      // The same user in another tab is not "someone else".
      if (event.sessionId !== sessionId || event.principalId === selfId) return;
      setTyping((current) => {
        const next = new Map(current);
        if (event.state === "start") next.set(event.principalId, event.name);
        else next.delete(event.principalId);
        return next;
      });
    });
    const offStatus = client.on("status", (status) => {
      if (status !== "connected") setTyping(new Map());
    });
    return () => {
      offTyping();
      offStatus();
    };
  }, [client, sessionId, selfId]);

  return [...typing.values()];
}
