/**
 * One declaration per route: method, path, the zod schemas its parameters, query and body are
 * validated with, and its documented responses. `registerRoute` derives both the Hono route and
 * the route's entry in the OpenAPI document from that declaration, so the two cannot drift.
 */
import type { Context, Hono } from "hono";
import type { z } from "zod";
import { jsonBody, parseOrThrow } from "./errors.js";
import type { AppEnv } from "./routes.js";

export type Method = "get" | "post" | "put" | "delete";

/** A path parameter: its schema and the words its error message names it by. */
export interface ParamSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  what: string;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Content type of a non-JSON body (text, HTML); default JSON. */
  contentType?: string;
}

type ParamSpecs = Record<string, ParamSpec>;
type Parsed<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteInput<P extends ParamSpecs, Q, B> {
  params: { [K in keyof P]: z.infer<P[K]["schema"]> };
  query: Parsed<Q>;
  body: Parsed<B>;
}

export interface ApiRoute<
  P extends ParamSpecs = ParamSpecs,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: Method;
  /** Hono syntax (`/sessions/:id`), relative to the prefix the route is registered under. */
  path: string;
  summary: string;
  /** Needs a bearer token. Default: true under /v1, false elsewhere. */
  auth?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseSpec>;
  /** Called with the parameters, query and body already validated, in that order. */
  handler(c: Context<AppEnv>, input: RouteInput<P, Q, B>): Response | Promise<Response>;
}

/** A route as the document sees it: with its full path. */
export interface DocumentedRoute extends Omit<ApiRoute, "handler"> {
  fullPath: string;
}

/** Declares a route; only here so the handler's input gets its types from the schemas. */
export function defineRoute<
  P extends ParamSpecs = Record<never, ParamSpec>,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(route: ApiRoute<P, Q, B>): ApiRoute {
  return route as unknown as ApiRoute;
}

/** The routes registered so far, in order, for the OpenAPI document. */
export class RouteRegistry {
  readonly routes: DocumentedRoute[] = [];

  /** Registers `route` on `app`, which is mounted at `prefix` (e.g. `/v1`), and records it. */
  register(app: Hono<AppEnv>, prefix: string, route: ApiRoute): void {
    const { handler, ...doc } = route;
    this.routes.push({ ...doc, fullPath: `${prefix}${route.path}` });
    app.on(route.method.toUpperCase(), route.path, async (c) => {
      const params: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(route.params ?? {})) {
        params[name] = parseOrThrow(spec.schema, c.req.param(name), spec.what);
      }
      const query = route.query ? parseOrThrow(route.query, c.req.query(), "query") : undefined;
      const body = route.body ? parseOrThrow(route.body, await jsonBody(c)) : undefined;
      return handler(c, { params, query, body } as RouteInput<ParamSpecs, unknown, unknown>);
    });
  }
}
