/**
 * Identity is (kind, sub): the first token seen for a `sub` records its kind in `principals`, and a
 * later token of the other kind for that `sub` is refused (PROTOCOL.md section 2). Each node keeps
 * what it has seen in memory, so the database is asked once per principal per node, and again
 * only when a token brings a new display name.
 */
import type pg from "pg";
import { withDb } from "../messaging/db-errors.js";
import type { Principal } from "../messaging/types.js";
import { GatewayError, type PrincipalKind } from "../protocol/index.js";
import type { TokenVerifier } from "./tokens.js";

export interface PrincipalRegistry {
  /** Records a first-seen principal or a new name; throws AUTH_INVALID on a kind mismatch. */
  admit(principal: Principal): Promise<void>;
}

export interface PrincipalRegistryOptions {
  /** Only `query` is used, so an edge runtime can route it to the request's own pool. */
  pool: Pick<pg.Pool, "query">;
  /** Principals remembered per node; the oldest are forgotten past this. Default 100,000. */
  maxCached?: number;
}

interface Known {
  kind: PrincipalKind;
  name: string;
}

// Inserts, or renames a principal of the same kind. No row back: the id is another kind's, or the
// name is unchanged (the select tells which).
const UPSERT = `
insert into principals (id, kind, name) values ($1, $2, $3)
on conflict (id) do update set name = excluded.name, updated_at = now()
  where principals.kind = excluded.kind and $4::boolean and principals.name <> excluded.name
returning kind, name`;

export function createPrincipalRegistry(options: PrincipalRegistryOptions): PrincipalRegistry {
  const maxCached = options.maxCached ?? 100_000;
  const known = new Map<string, Known>();
  const pending = new Map<string, Promise<Known>>();

  function remember(id: string, entry: Known) {
    known.delete(id);
    known.set(id, entry);
    if (known.size > maxCached) known.delete(known.keys().next().value as string);
  }

  async function record(principal: Principal): Promise<Known> {
    const name = principal.name ?? principal.id;
    const hasName = principal.name !== undefined;
    return withDb(async () => {
      const inserted = await options.pool.query<Known>(UPSERT, [
        principal.id,
        principal.kind,
        name,
        hasName,
      ]);
      if (inserted.rows[0]) return inserted.rows[0];
      const found = await options.pool.query<Known>(
        "select kind, name from principals where id = $1",
        [principal.id],
      );
      return found.rows[0] ?? { kind: principal.kind, name };
    });
  }

  function mismatch(principal: Principal, kind: PrincipalKind): GatewayError {
    return new GatewayError(
      "AUTH_INVALID",
      `The token's kind "${principal.kind}" does not match the ${kind} "${principal.id}"`,
    );
  }

  return {
    async admit(principal) {
      const cached = known.get(principal.id);
      if (cached) {
        if (cached.kind !== principal.kind) throw mismatch(principal, cached.kind);
        if (principal.name === undefined || principal.name === cached.name) return;
      }
      // One query per id at a time: a burst of first connects shares it.
      const key = `${principal.id}\u0000${principal.kind}\u0000${principal.name ?? ""}`;
      let inflight = pending.get(key);
      if (!inflight) {
        inflight = record(principal).finally(() => pending.delete(key));
        pending.set(key, inflight);
      }
      const entry = await inflight;
      remember(principal.id, entry);
      if (entry.kind !== principal.kind) throw mismatch(principal, entry.kind);
    },
  };
}

/** A verifier that also admits each verified principal through `registry`. */
export function withPrincipalRegistry(
  tokens: TokenVerifier,
  registry: PrincipalRegistry,
): TokenVerifier {
  return {
    async verify(raw) {
      const verified = await tokens.verify(raw);
      await registry.admit(verified.principal);
      return verified;
    },
    sign: (claims, expiresInSeconds) => tokens.sign(claims, expiresInSeconds),
  };
}
