/**
 * JWT verification and dev-token signing (PROTOCOL.md section 2). HS256 only: the algorithm is
 * pinned, so `alg: none` and RS/HS confusion are refused before the signature is looked at.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import type { Principal } from "../messaging/types.js";
import { GatewayError, type PrincipalKind, TokenClaims } from "../protocol/index.js";

export interface VerifiedToken {
  principal: Principal;
  /** Expiry in ms since epoch, when the token has one. */
  expiresAt: number | undefined;
}

export interface TokenVerifier {
  /**
   * Verifies a raw token or an Authorization header value (`Bearer <token>`, scheme in any case;
   * a bare `Bearer` counts as no token), or throws a GatewayError AUTH_*.
   */
  verify(token: string | undefined | null): Promise<VerifiedToken>;
  /** Signs a token; for dev tokens and tests. `expiresInSeconds` default 12 hours. */
  sign(
    claims: { sub: string; kind: PrincipalKind; name?: string | undefined },
    expiresInSeconds?: number,
  ): Promise<string>;
}

export interface TokenVerifierOptions {
  /** HS256 secret, at least 32 characters. */
  secret: string;
  /** Accept tokens without `exp` (dev tokens on). Default false. */
  allowNoExpiry?: boolean;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key = new TextEncoder().encode(options.secret);
  return {
    async verify(raw) {
      // The auth scheme is case-insensitive (RFC 9110 section 11.1).
      const token = raw?.replace(/^bearer(\s+|$)/i, "").trim();
      if (!token) throw new GatewayError("AUTH_REQUIRED", "A token is required");
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: ["HS256"] }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) {
          throw new GatewayError("AUTH_EXPIRED", "The token has expired");
        }
        throw new GatewayError("AUTH_INVALID", "The token is invalid");
      }
      const claims = TokenClaims.safeParse(payload);
      if (!claims.success) throw new GatewayError("AUTH_INVALID", "The token's claims are invalid");
      if (claims.data.exp === undefined && !options.allowNoExpiry) {
        throw new GatewayError("AUTH_INVALID", "The token has no exp claim");
      }
      const principal: Principal = { id: claims.data.sub, kind: claims.data.kind };
      if (claims.data.name !== undefined) principal.name = claims.data.name;
      return {
        principal,
        expiresAt: claims.data.exp === undefined ? undefined : claims.data.exp * 1000,
      };
    },
    async sign(claims, expiresInSeconds = 12 * 3600) {
      const body: Record<string, unknown> = { kind: claims.kind };
      if (claims.name !== undefined) body.name = claims.name;
      return new SignJWT(body)
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(claims.sub)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
        .sign(key);
    },
  };
}
