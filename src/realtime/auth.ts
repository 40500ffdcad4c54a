/**
 * Handshake authentication for `/agents` and `/clients`. A refusal reaches the client's
 * `connect_error` with `err.data = { code, message }` (PROTOCOL.md section 2).
 */
import type { ExtendedError } from "socket.io";
import type { TokenVerifier } from "../auth/tokens.js";
import { type ErrorCode, GatewayError, NAMESPACES, type NamespaceName } from "../protocol/index.js";
import type { GatewaySocket } from "./types.js";

export function connectError(code: ErrorCode, message: string): ExtendedError {
  const err = new Error(message) as ExtendedError;
  err.data = { code, message };
  return err;
}

function handshakeToken(socket: GatewaySocket): string | undefined {
  const auth = socket.handshake.auth as { token?: unknown } | undefined;
  if (typeof auth?.token === "string" && auth.token !== "") return auth.token;
  const header = socket.handshake.headers.authorization;
  return typeof header === "string" && header !== "" ? header : undefined;
}

export function authMiddleware(
  namespace: NamespaceName,
  tokens: TokenVerifier,
  onRefused: (code: ErrorCode) => void,
) {
  const admits = NAMESPACES[namespace];
  return async (socket: GatewaySocket, next: (err?: ExtendedError) => void) => {
    try {
      const { principal, expiresAt } = await tokens.verify(handshakeToken(socket));
      if (principal.kind !== admits) {
        throw new GatewayError(
          "FORBIDDEN",
          `${namespace} admits tokens of kind "${admits}", not "${principal.kind}"`,
        );
      }
      socket.data.principal = principal;
      socket.data.expiresAt = expiresAt;
      socket.data.connectedAt = Date.now();
      next();
    } catch (err) {
      const code = err instanceof GatewayError ? err.code : "INTERNAL";
      onRefused(code);
      next(connectError(code, err instanceof GatewayError ? err.message : "Internal error"));
    }
  };
}
