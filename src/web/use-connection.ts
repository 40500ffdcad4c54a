/**
 * One SDK client per signed-in token, with its live status. A client that fails on its token
 * (the gateway restarted with a new dev secret, or the token expired) asks for a fresh one
 * through `onAuthFailure` instead of leaving the user stuck on "failed".
 */
import { useEffect, useRef, useState } from "react";
import type { ClientStatus, GatewayClient } from "../sdk/index.js";
import { describeError, describeStatusReason, isAuthError } from "./describe-error.js";

export interface Connection {
  client: GatewayClient | undefined;
  status: ClientStatus;
  reason: string | undefined;
}

export function useConnection(
  token: string | undefined,
  createClient: (token: string) => GatewayClient,
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
      setConnection({ client: undefined, status: "disconnected", reason: "not signed in" });
      return;
    }
    const client = factory.current(token);
    setConnection({ client, status: client.status, reason: undefined });
    // The SDK reports the error that ends a client on `error` just before `failed`; it carries
    // the gateway's code, which the status reason does not.
    let lastError: unknown;
    const offError = client.on("error", (error) => {
      lastError = error;
    });
    const offStatus = client.on("status", (status, reason) => {
      const failure = status === "failed" ? lastError : undefined;
      setConnection({
        client,
        status,
        reason:
          status === "connected"
            ? undefined
            : failure
              ? describeError(failure)
              : describeStatusReason(reason),
      });
      if (failure && isAuthError(failure)) authFailure.current(token);
    });
    return () => {
      offError();
      offStatus();
      void client.close();
    };
  }, [token]);

  return connection;
}
