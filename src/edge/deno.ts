/**
 * The Deno entry (Deno Deploy, or `deno run` anywhere): the edge app with one shared pool, since
 * Deno, unlike workerd, lets requests share sockets. Reads `PORT` (default 8000) and `HOST`
 * (default 0.0.0.0) beside the gateway's variables. Bundled by `src/edge/build.ts`; run it with
 * `deno run --allow-net --allow-env --allow-read --allow-sys dist/edge/deno.js`.
 */
import { ConfigError } from "../config.js";
import { createEdgeApp } from "./app.js";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?(addr: { port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): { finished: Promise<void> };
  exit(code: number): never;
};

const env = Deno.env.toObject();
let app: ReturnType<typeof createEdgeApp>;
try {
  app = createEdgeApp(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  Deno.exit(1);
}
Deno.serve(
  {
    port: Number(env.PORT ?? 8000),
    hostname: env.HOST ?? "0.0.0.0",
    onListen: ({ port }) => console.log(JSON.stringify({ msg: "listening", port })),
  },
  (request) => app.fetch(request),
);
