/**
 * Whether this user was removed from the open session while it was open (`session:removed`):
 * the SDK has stopped following it, so the conversation would silently freeze otherwise.
 */
import { useEffect, useState } from "react";
import type { GatewayClient } from "../sdk/index.js";

export function useRemoved(client: GatewayClient | undefined, sessionId: string): boolean {
  const [removed, setRemoved] = useState(false);
  useEffect(() => {
    if (!client) return;
    return client.on("sessionRemoved", (event) => {
      if (event.sessionId === sessionId) setRemoved(true);
    });
  }, [client, sessionId]);
  return removed;
}
