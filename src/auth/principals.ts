/**
 * Identity is (kind, sub): the first token seen for a `sub` records its kind in `principals`, and a
 * later token of the other kind for that `sub` is refused (PROTOCOL.md section 2). Each node keeps
 * what it has seen in memory, so the database is asked once per principal per node, and again
 * when a token brings a display name other than the remembered one, or the same one after
 * `NAME_RECHECK_MS` (another node may have recorded a newer name meanwhile, which this token's
 * name must replace). The remembered names are the node's principal cache: live broadcasts name
 * their sender from it, with no query per message.
 */
import type pg from "pg";
import { withDb } from "../messaging/db-errors.js";
import type { Principal } from "../messaging/types.js";
import { GatewayError, type PrincipalKind } from "../protocol/index.js";
import type { TokenVerifier } from "./tokens.js";

export interface PrincipalRegistry {
  /**
   * Records a first-seen principal or a new name and answers the principal's display name as
   * recorded; throws AUTH_INVALID on a kind mismatch.
   */
  admit(principal: Principal): Promise<string>;
  /** The display name this node last knew for `id`, without a query. */
  nameOf(id: string): string | undefined;
}

/** How long a remembered name spares a token carrying that same name a database round trip. */
export const NAME_RECHECK_MS = 30_000;

export interface PrincipalRegistryOptions {
  /** Only `query` is used, so an edge runtime can route it to the request's own pool. */
  pool: Pick<pg.Pool, "query">;
  /** Principals remembered per node; the oldest are forgotten past this. Default 100,000. */
  maxCached?: number;
  /** How long a remembered name spares a token with that name a query. Default `NAME_RECHECK_MS`. */
  nameRecheckMs?: number;
}

interface Known {
  kind: PrincipalKind;
  name: string;
}

interface Remembered extends Known {
  checkedAt: number;
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
  const recheckMs = options.nameRecheckMs ?? NAME_RECHECK_MS;
  const known = new Map<string, Remembered>();
  const pending = new Map<string, Promise<Known>>();

  function remember(id: string, entry: Known) {
    known.delete(id);
    known.set(id, { kind: entry.kind, name: entry.name, checkedAt: Date.now() });
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
        if (
          principal.name === undefined ||
          (principal.name === cached.name && Date.now() - cached.checkedAt < recheckMs)
        ) {
          return cached.name;
        }
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
      return entry.name;
    },
    nameOf: (id) => known.get(id)?.name,
  };
}

/**
 * A verifier that also admits each verified principal through `registry`; the principal it
 * answers carries the recorded display name (a token without `name` keeps an earlier one).
 */
export function withPrincipalRegistry(
  tokens: TokenVerifier,
  registry: PrincipalRegistry,
): TokenVerifier {
  return {
    async verify(raw) {
      const verified = await tokens.verify(raw);
      verified.principal.name = await registry.admit(verified.principal);
      return verified;
    },
    sign: (claims, expiresInSeconds) => tokens.sign(claims, expiresInSeconds),
  };
}
