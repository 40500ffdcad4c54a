/**
 * The streams being written into the open session, from the SDK's `stream` events: each one
 * with its text so far, open or aborted. A stream leaves this list when its stored message
 * arrives (same id), in the same render that adds the message, so the list never shows both.
 */
import { useEffect, useState } from "react";
import type { GatewayClient, StreamUpdate } from "../sdk/index.js";

export function useStreams(client: GatewayClient | undefined, sessionId: string): StreamUpdate[] {
  const [streams, setStreams] = useState<ReadonlyMap<string, StreamUpdate>>(new Map());

  useEffect(() => {
    setStreams(new Map());
    if (!client) return;
    // Open already (a client that joined before this view mounted).
    setStreams(new Map(client.openStreams(sessionId).map((s) => [s.id, s])));
    const offStream = client.on("stream", (update) => {
      if (update.sessionId !== sessionId) return;
      setStreams((current) => new Map(current).set(update.id, update));
    });
    const offMessage = client.on("message", (message) => {
      if (message.sessionId !== sessionId) return;
      setStreams((current) => {
        if (!current.has(message.id)) return current;
        const next = new Map(current);
        next.delete(message.id);
        return next;
      });
    });
    return () => {
      offStream();
      offMessage();
    };
  }, [client, sessionId]);

  return [...streams.values()];
}
