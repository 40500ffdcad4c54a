/**
 * The `/v1` routes (PROTOCOL.md section 8). Every one goes through the messaging core; each is
 * declared once (`defineRoute`), and its schemas both validate requests and make the document.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { TokenVerifier } from "../auth/tokens.js";
import type { Messaging, Principal, Streams } from "../messaging/index.js";
import {
  AddMemberRequest,
  AppendResult,
  Context,
  ContextId,
  ContextWriteResult,
  CreateSessionRequest,
  DEFAULT_PAGE_LIMIT,
  DEFAULT_SESSION_LIST_LIMIT,
  DevTokenRequest,
  GatewayError,
  Id,
  MAX_PAGE_LIMIT,
  MAX_SESSION_LIST_LIMIT,
  MessageBody,
  MessagePage,
  ONE_DIRECTION_MESSAGE,
  oneDirection,
  PrincipalId,
  PutContextRequest,
  ReceiptRequest,
  ReceiptResult,
  SessionDetail,
  SessionList,
} from "../protocol/index.js";
import { defineRoute, type RouteRegistry } from "./api-route.js";
import { ConcurrencyGate } from "./concurrency.js";
import type { HttpRateLimiter } from "./rate-limit.js";
import { addStreamRoutes } from "./stream-routes.js";

export type AppEnv = { Variables: { requestId: string; principal: Principal } };

export const MessagesQuery = z
  .strictObject({
    afterSeq: z.coerce.number().int().nonnegative().optional(),
    beforeSeq: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  })
  .refine(oneDirection, ONE_DIRECTION_MESSAGE);

export const SessionsQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_SESSION_LIST_LIMIT)
    .default(DEFAULT_SESSION_LIST_LIMIT),
  cursor: z.string().max(1000).optional(),
});

export interface RoutesDeps {
  messaging: Messaging;
  streams: Streams;
  tokens: TokenVerifier;
  devTokens: boolean;
  /** History reads at once on this node (HTTP_HISTORY_CONCURRENCY); as many more wait. */
  historyConcurrency?: number;
  rateLimiter?: HttpRateLimiter;
}

const sessionId = { schema: Id, what: "session id" };
const principalId = { schema: PrincipalId, what: "principal id" };
const contextId = { schema: ContextId, what: "context id" };

export function createV1Routes(deps: RoutesDeps, registry: RouteRegistry): Hono<AppEnv> {
  const { messaging, tokens } = deps;
  const v1 = new Hono<AppEnv>();
  const add = (route: Parameters<RouteRegistry["register"]>[2]) =>
    registry.register(v1, "/v1", route);

  const devTokenSummary = "Issue a dev token (only when AUTH_DEV_TOKENS=true; 404 otherwise)";
  add(
    deps.devTokens
      ? defineRoute({
          method: "post",
          path: "/dev/token",
          summary: devTokenSummary,
          auth: false,
          body: DevTokenRequest,
          responses: { 200: { description: "token", schema: z.object({ token: z.string() }) } },
          async handler(c, { body }) {
            const token = await tokens.sign(body);
            // Verified like any other token, so a kind that disagrees with the recorded one is
            // refused.
            await tokens.verify(token);
            return c.json({ token });
          },
        })
      : // Registered before the auth middleware below, which would otherwise make it 401: with
        // dev tokens off the route does not exist (PROTOCOL.md section 2), token or not.
        defineRoute({
          method: "post",
          path: "/dev/token",
          summary: devTokenSummary,
          auth: false,
          responses: {},
          handler(c) {
            throw new GatewayError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
          },
        }),
  );

  v1.use("*", async (c, next) => {
    const { principal } = await tokens.verify(c.req.header("authorization"));
    c.set("principal", principal);
    await next();
  });
  if (deps.rateLimiter) v1.use("*", deps.rateLimiter.byPrincipal);

  add(
    defineRoute({
      method: "get",
      path: "/sessions",
      summary: "The caller's sessions, most recent activity first, paged by cursor",
      query: SessionsQuery,
      responses: { 200: { description: "page", schema: SessionList } },
      handler: async (c, { query }) =>
        c.json(await messaging.listSessions(c.get("principal"), query.limit, query.cursor)),
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions",
      summary: "Create a session; the caller becomes a member",
      body: CreateSessionRequest,
      responses: { 201: { description: "created", schema: SessionDetail } },
      handler: async (c, { body }) =>
        c.json(await messaging.createSession(c.get("principal"), body), 201),
    }),
  );

  add(
    defineRoute({
      method: "get",
      path: "/sessions/:id",
      summary: "A session with its members and head seq",
      params: { id: sessionId },
      responses: { 200: { description: "session", schema: SessionDetail } },
      handler: async (c, { params }) =>
        c.json(await messaging.getSession(c.get("principal"), params.id)),
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/members",
      summary: "Add a member",
      params: { id: sessionId },
      body: AddMemberRequest,
      responses: {
        201: {
          description: "added",
          schema: z.object({ sessionId: z.string(), principalId: z.string() }),
        },
      },
      async handler(c, { params, body }) {
        await messaging.addMember(c.get("principal"), params.id, body.principalId);
        return c.json({ sessionId: params.id, principalId: body.principalId }, 201);
      },
    }),
  );

  add(
    defineRoute({
      method: "delete",
      path: "/sessions/:id/members/:principalId",
      summary: "Remove a member; their sockets leave the room on every node",
      params: { id: sessionId, principalId },
      responses: { 204: { description: "removed" } },
      async handler(c, { params }) {
        await messaging.removeMember(c.get("principal"), params.id, params.principalId);
        return c.body(null, 204);
      },
    }),
  );

  const historyReads = new ConcurrencyGate(deps.historyConcurrency ?? 8);
  add(
    defineRoute({
      method: "get",
      path: "/sessions/:id/messages",
      summary: "Messages after afterSeq, or the page just before beforeSeq; oldest first",
      params: { id: sessionId },
      query: MessagesQuery,
      responses: { 200: { description: "page", schema: MessagePage } },
      async handler(c, { params, query }) {
        try {
          // Serialized inside the gate, so the page's JSON is made while the slot is held.
          return await historyReads.run(async () =>
            c.json(
              query.beforeSeq === undefined
                ? await messaging.readMessages(
                    c.get("principal"),
                    params.id,
                    query.afterSeq ?? 0,
                    query.limit,
                  )
                : await messaging.readMessagesBefore(
                    c.get("principal"),
                    params.id,
                    query.beforeSeq,
                    query.limit,
                  ),
            ),
          );
        } catch (err) {
          if (err instanceof GatewayError && err.code === "UNAVAILABLE") {
            c.header("Retry-After", "1");
          }
          throw err;
        }
      },
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/messages",
      summary: "Store and broadcast a message (idempotent by id)",
      params: { id: sessionId },
      body: MessageBody,
      responses: {
        201: { description: "stored", schema: AppendResult },
        200: { description: "duplicate of an earlier send", schema: AppendResult },
      },
      async handler(c, { params, body }) {
        const result = await messaging.sendMessage(c.get("principal"), {
          ...body,
          sessionId: params.id,
        });
        return c.json(result, result.duplicate ? 200 : 201);
      },
    }),
  );

  add(
    defineRoute({
      method: "post",
      path: "/sessions/:id/receipts",
      summary: "Report messages delivered or read up to seq; answers the caller's watermarks",
      params: { id: sessionId },
      body: ReceiptRequest,
      responses: { 200: { description: "watermarks after it", schema: ReceiptResult } },
      handler: async (c, { params, body }) =>
        c.json(
          await messaging.receipt(c.get("principal"), {
            sessionId: params.id,
            seq: body.seq,
            kind: body.kind,
          }),
        ),
    }),
  );

  add(
    defineRoute({
      method: "get",
      path: "/sessions/:id/contexts",
      summary: "Every context of the session",
      params: { id: sessionId },
      responses: {
        200: { description: "contexts", schema: z.object({ contexts: z.array(Context) }) },
      },
      handler: async (c, { params }) =>
        c.json({ contexts: await messaging.getContexts(c.get("principal"), params.id) }),
    }),
  );

  add(
    defineRoute({
      method: "get",
      path: "/sessions/:id/contexts/:contextId",
      summary: "One context",
      params: { id: sessionId, contextId },
      responses: { 200: { description: "context", schema: Context } },
      async handler(c, { params }) {
        const [context] = await messaging.getContexts(
          c.get("principal"),
          params.id,
          params.contextId,
        );
        if (!context) {
          throw new GatewayError("NOT_FOUND", `Context ${params.contextId} does not exist`);
        }
        return c.json(context);
      },
    }),
  );

  add(
    defineRoute({
      method: "put",
      path: "/sessions/:id/contexts/:contextId",
      summary:
        "Create or update a context, optionally only at expectedVersion, for targets only, expiring after ttlSeconds",
      params: { id: sessionId, contextId },
      body: PutContextRequest,
      responses: { 200: { description: "written", schema: ContextWriteResult } },
      async handler(c, { params, body }) {
        const result = await messaging.updateContext(c.get("principal"), {
          ...body,
          sessionId: params.id,
          contextId: params.contextId,
        });
        return c.json(result);
      },
    }),
  );

  addStreamRoutes(add, deps.streams);

  return v1;
}
