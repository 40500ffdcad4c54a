/**
 * The `/v1` routes (PROTOCOL.md section 8). Every one goes through the messaging core; the route
 * table in `openapi.ts` documents the same schemas.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { TokenVerifier } from "../auth/tokens.js";
import type { Messaging, Principal } from "../messaging/index.js";
import {
  AddMemberRequest,
  ContextId,
  CreateSessionRequest,
  DevTokenRequest,
  GatewayError,
  Id,
  MessageBody,
  PrincipalId,
  PutContextRequest,
} from "../protocol/index.js";
import { ConcurrencyGate } from "./concurrency.js";
import { jsonBody, parseOrThrow } from "./errors.js";
import type { HttpRateLimiter } from "./rate-limit.js";

export type AppEnv = { Variables: { requestId: string; principal: Principal } };

export const MessagesQuery = z.strictObject({
  afterSeq: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface RoutesDeps {
  messaging: Messaging;
  tokens: TokenVerifier;
  devTokens: boolean;
  /** History reads at once on this node (HTTP_HISTORY_CONCURRENCY); as many more wait. */
  historyConcurrency?: number;
  rateLimiter?: HttpRateLimiter;
}

export function createV1Routes(deps: RoutesDeps): Hono<AppEnv> {
  const { messaging, tokens } = deps;
  const v1 = new Hono<AppEnv>();

  if (deps.devTokens) {
    v1.post("/dev/token", async (c) => {
      const body = parseOrThrow(DevTokenRequest, await jsonBody(c));
      const token = await tokens.sign(body);
      // Verified like any other token, so a kind that disagrees with the recorded one is refused.
      await tokens.verify(token);
      return c.json({ token });
    });
  } else {
    // Answered before the auth middleware below, which would otherwise make it 401: with dev
    // tokens off the route does not exist (PROTOCOL.md section 2), token or not.
    v1.post("/dev/token", (c) => {
      throw new GatewayError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
    });
  }

  v1.use("*", async (c, next) => {
    const { principal } = await tokens.verify(c.req.header("authorization"));
    c.set("principal", principal);
    await next();
  });
  if (deps.rateLimiter) v1.use("*", deps.rateLimiter.byPrincipal);

  const sessionId = (c: { req: { param(name: "id"): string } }) =>
    parseOrThrow(Id, c.req.param("id"), "session id");

  v1.post("/sessions", async (c) => {
    const body = parseOrThrow(CreateSessionRequest, await jsonBody(c));
    return c.json(await messaging.createSession(c.get("principal"), body), 201);
  });

  v1.get("/sessions/:id", async (c) =>
    c.json(await messaging.getSession(c.get("principal"), sessionId(c))),
  );

  v1.post("/sessions/:id/members", async (c) => {
    const id = sessionId(c);
    const body = parseOrThrow(AddMemberRequest, await jsonBody(c));
    await messaging.addMember(c.get("principal"), id, body.principalId);
    return c.json({ sessionId: id, principalId: body.principalId }, 201);
  });

  v1.delete("/sessions/:id/members/:principalId", async (c) => {
    const id = sessionId(c);
    const principalId = parseOrThrow(PrincipalId, c.req.param("principalId"), "principal id");
    await messaging.removeMember(c.get("principal"), id, principalId);
    return c.body(null, 204);
  });

  const historyReads = new ConcurrencyGate(deps.historyConcurrency ?? 8);
  v1.get("/sessions/:id/messages", async (c) => {
    const id = sessionId(c);
    const query = parseOrThrow(MessagesQuery, c.req.query(), "query");
    try {
      // Serialized inside the gate, so the page's JSON is made while the slot is held.
      return await historyReads.run(async () =>
        c.json(await messaging.readMessages(c.get("principal"), id, query.afterSeq, query.limit)),
      );
    } catch (err) {
      if (err instanceof GatewayError && err.code === "UNAVAILABLE") c.header("Retry-After", "1");
      throw err;
    }
  });

  v1.post("/sessions/:id/messages", async (c) => {
    const id = sessionId(c);
    const body = parseOrThrow(MessageBody, await jsonBody(c));
    const result = await messaging.sendMessage(c.get("principal"), { ...body, sessionId: id });
    return c.json(result, result.duplicate ? 200 : 201);
  });

  v1.get("/sessions/:id/contexts", async (c) =>
    c.json({ contexts: await messaging.getContexts(c.get("principal"), sessionId(c)) }),
  );

  v1.get("/sessions/:id/contexts/:contextId", async (c) => {
    const id = sessionId(c);
    const contextId = parseOrThrow(ContextId, c.req.param("contextId"), "context id");
    const [context] = await messaging.getContexts(c.get("principal"), id, contextId);
    if (!context) throw new GatewayError("NOT_FOUND", `Context ${contextId} does not exist`);
    return c.json(context);
  });

  v1.put("/sessions/:id/contexts/:contextId", async (c) => {
    const id = sessionId(c);
    const contextId = parseOrThrow(ContextId, c.req.param("contextId"), "context id");
    const body = parseOrThrow(PutContextRequest, await jsonBody(c));
    const input = { sessionId: id, contextId, contextData: body.contextData };
    const result = await messaging.updateContext(
      c.get("principal"),
      body.expectedVersion === undefined
        ? input
        : { ...input, expectedVersion: body.expectedVersion },
    );
    return c.json(result);
  });

  return v1;
}
