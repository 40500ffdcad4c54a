/**
 * One gateway client per signed-in identity, with its live status. A client that fails on its
 * token (the gateway restarted with a new dev secret, or the token expired) asks once for a fresh
 * one through `onAuthFailure` instead of leaving the user stuck on "failed".
 */
import { useEffect, useRef, useState } from "react";
import type { ChatClient, ConnectionStatus } from "./chat-client.js";
import { describeError, isAuthError } from "./describe-error.js";

export interface Connection {
  client: ChatClient | undefined;
  status: ConnectionStatus;
  reason: string | undefined;
}

export function useConnection(
  token: string | undefined,
  createClient: (token: string) => ChatClient,
  onAuthFailure: (failedToken: string) => void,
): Connection {
  const [connection, setConnection] = useState<Connection>({
    client: undefined,
    status: "disconnected",
    reason: undefined,
  });
  const authFailure = useRef(onAuthFailure);
  authFailure.current = onAuthFailure;
  const factory = useRef(createClient);
  factory.current = createClient;

  useEffect(() => {
    if (!token) {
      setConnection({ client: undefined, status: "disconnected", reason: "Not signed in" });
      return;
    }
    const client = factory.current(token);
    setConnection({ client, status: client.status, reason: undefined });
    const off = client.on("status", (status, reason) => {
      setConnection({
        client,
        status,
        reason: status === "connected" ? undefined : describeError(reason),
      });
      if (status === "failed" && isAuthError(reason)) authFailure.current(token);
    });
    return () => {
      off();
      void client.close();
    };
  }, [token]);

  return connection;
}
