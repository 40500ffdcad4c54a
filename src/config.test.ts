import { readFileSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, EnvSchema, loadConfig } from "./config.js";

const SECRET = "s".repeat(32);
const PG = "postgres://u:p@db.example:5432/tkr";

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("loadConfig accepted a bad environment");
}

describe("loadConfig", () => {
  it("runs on the embedded database with dev tokens and documented defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 3000,
      host: "0.0.0.0",
      databaseUrl: undefined,
      databaseListenUrl: undefined,
      databasePoolMax: 20,
      dataDir: ".data",
      embeddedPgPort: 0,
      jwtSecret: undefined,
      devTokens: true,
      logLevel: "info",
      nodeId: `${os.hostname()}-${process.pid}`,
      region: undefined,
      flyMachineId: undefined,
      maxContentBytes: 65_536,
      corsOrigins: "*",
      shutdownTimeoutMs: 10_000,
      shutdownGraceMs: 2_000,
      logFormat: "auto",
      socketAllowEio3: false,
      clusterHeadIntervalMs: 5_000,
      typingTimeoutMs: 6_000,
      presenceNodeTimeoutMs: 20_000,
      receiptFlushMs: 1_000,
      socketRateLimit: 200,
      socketMaxBufferBytes: 2_097_152,
      socketBinaryTimeoutMs: 5_000,
      historyPageMaxBytes: 1_048_576,
      httpHistoryConcurrency: 8,
      production: false,
      databaseQueryTimeoutMs: 10_000,
      metricsPort: undefined,
      auditRetentionDays: 30,
      principalRateLimit: 1_000,
      principalMsgRateLimit: 300,
      principalSocketLimit: 50,
      httpRateLimit: 200,
      httpWriteRateLimit: 100,
      httpIpRateLimit: 1_000,
      httpIpWriteRateLimit: 500,
      trustProxy: "none",
      streamIdleMs: 30_000,
      streamMaxOpenPerPrincipal: 16,
      streamDeltaMaxBytes: 65_536,
      streamDeltaRateLimit: 100,
    });
  });

  it("reads every variable it documents", () => {
    const config = loadConfig({
      PORT: "8080",
      HOST: "127.0.0.1",
      DATABASE_URL: PG,
      DATABASE_LISTEN_URL: "postgresql://u:p@primary.example/tkr",
      DATABASE_POOL_MAX: "50",
      DATA_DIR: "/var/tkr",
      EMBEDDED_PG_PORT: "5499",
      AUTH_JWT_SECRET: SECRET,
      AUTH_DEV_TOKENS: "false",
      LOG_LEVEL: "debug",
      NODE_ID: "node-a",
      FLY_REGION: "ams",
      MAX_CONTENT_BYTES: "1024",
      CORS_ORIGINS: "https://a.example, https://b.example",
      SHUTDOWN_TIMEOUT_MS: "2500",
      SHUTDOWN_GRACE_MS: "750",
      LOG_FORMAT: "json",
      SOCKET_ALLOW_EIO3: "true",
      CLUSTER_HEAD_INTERVAL_MS: "1000",
      TYPING_TIMEOUT_MS: "2000",
      RECEIPT_FLUSH_MS: "3000",
      SOCKET_RATE_LIMIT: "50",
      SOCKET_MAX_BUFFER_BYTES: "1048576",
      SOCKET_BINARY_TIMEOUT_MS: "200",
      HISTORY_PAGE_MAX_BYTES: "65536",
      HTTP_HISTORY_CONCURRENCY: "2",
      NODE_ENV: "production",
      DATABASE_QUERY_TIMEOUT_MS: "2500",
      METRICS_PORT: "9091",
      AUDIT_RETENTION_DAYS: "7",
      PRINCIPAL_RATE_LIMIT: "500",
      PRINCIPAL_MSG_RATE_LIMIT: "100",
      PRINCIPAL_SOCKET_LIMIT: "10",
      HTTP_RATE_LIMIT: "40",
      HTTP_WRITE_RATE_LIMIT: "20",
      HTTP_IP_RATE_LIMIT: "80",
      HTTP_IP_WRITE_RATE_LIMIT: "60",
      TRUST_PROXY: "fly",
      STREAM_IDLE_MS: "5000",
      STREAM_MAX_OPEN_PER_PRINCIPAL: "4",
      STREAM_DELTA_MAX_BYTES: "512",
      STREAM_DELTA_RATE_LIMIT: "20",
      PRESENCE_NODE_TIMEOUT_MS: "4000",
    });
    expect(config).toEqual({
      port: 8080,
      host: "127.0.0.1",
      databaseUrl: PG,
      databaseListenUrl: "postgresql://u:p@primary.example/tkr",
      databasePoolMax: 50,
      dataDir: "/var/tkr",
      embeddedPgPort: 5499,
      jwtSecret: SECRET,
      devTokens: false,
      logLevel: "debug",
      nodeId: "node-a",
      region: "ams",
      flyMachineId: undefined,
      maxContentBytes: 1024,
      corsOrigins: ["https://a.example", "https://b.example"],
      shutdownTimeoutMs: 2500,
      shutdownGraceMs: 750,
      logFormat: "json",
      socketAllowEio3: true,
      clusterHeadIntervalMs: 1000,
      typingTimeoutMs: 2000,
      presenceNodeTimeoutMs: 4000,
      receiptFlushMs: 3000,
      socketRateLimit: 50,
      socketMaxBufferBytes: 1_048_576,
      socketBinaryTimeoutMs: 200,
      historyPageMaxBytes: 65_536,
      httpHistoryConcurrency: 2,
      production: true,
      databaseQueryTimeoutMs: 2500,
      metricsPort: 9091,
      auditRetentionDays: 7,
      principalRateLimit: 500,
      principalMsgRateLimit: 100,
      principalSocketLimit: 10,
      httpRateLimit: 40,
      httpWriteRateLimit: 20,
      httpIpRateLimit: 80,
      httpIpWriteRateLimit: 60,
      trustProxy: "fly",
      streamIdleMs: 5000,
      streamMaxOpenPerPrincipal: 4,
      streamDeltaMaxBytes: 512,
      streamDeltaRateLimit: 20,
    });
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "", LOG_LEVEL: "" })).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      logLevel: "info",
      devTokens: true,
    });
  });

  it("names every bad variable in one ConfigError", () => {
    const problems = problemsOf({
      PORT: "abc",
      MAX_CONTENT_BYTES: "-1",
      LOG_LEVEL: "loud",
      DATABASE_URL: "mysql://db/x",
      AUTH_DEV_TOKENS: "maybe",
    });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "AUTH_DEV_TOKENS",
      "DATABASE_URL",
      "LOG_LEVEL",
      "MAX_CONTENT_BYTES",
      "PORT",
    ]);
  });

  it("puts every problem in the error message, one per line", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "abc", MAX_CONTENT_BYTES: "-1" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^Invalid configuration:\n/);
    expect(message).toMatch(/\n {2}- PORT: .+/);
    expect(message).toMatch(/\n {2}- MAX_CONTENT_BYTES: .+/);
  });

  it("refuses ports and limits out of range", () => {
    expect(problemsOf({ PORT: "70000" })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ DATABASE_POOL_MAX: "0" })).toEqual([
      expect.stringMatching(/^DATABASE_POOL_MAX: /),
    ]);
    expect(problemsOf({ PORT: "3000.5" })).toEqual([expect.stringMatching(/^PORT: /)]);
  });

  it("requires AUTH_JWT_SECRET when DATABASE_URL is set and dev tokens are not on", () => {
    expect(problemsOf({ DATABASE_URL: PG })).toEqual([
      "AUTH_JWT_SECRET: required unless AUTH_DEV_TOKENS=true",
    ]);
    expect(problemsOf({ DATABASE_URL: PG, AUTH_DEV_TOKENS: "false" })).toEqual([
      "AUTH_JWT_SECRET: required unless AUTH_DEV_TOKENS=true",
    ]);
    expect(loadConfig({ DATABASE_URL: PG, AUTH_DEV_TOKENS: "true" }).devTokens).toBe(true);
    expect(loadConfig({ DATABASE_URL: PG, AUTH_JWT_SECRET: SECRET }).devTokens).toBe(false);
  });

  it("also asks for AUTH_JWT_SECRET when turning dev tokens off on the embedded database", () => {
    expect(problemsOf({ AUTH_DEV_TOKENS: "false" })).toEqual([
      "AUTH_JWT_SECRET: required unless AUTH_DEV_TOKENS=true",
    ]);
  });

  it("names a missing AUTH_JWT_SECRET alongside other bad variables", () => {
    const problems = problemsOf({ DATABASE_URL: PG, PORT: "abc" });
    expect(problems).toHaveLength(2);
    expect(problems).toContain("AUTH_JWT_SECRET: required unless AUTH_DEV_TOKENS=true");
    expect(problems.some((p) => p.startsWith("PORT: "))).toBe(true);
  });

  it("refuses a secret shorter than 32 characters", () => {
    expect(problemsOf({ DATABASE_URL: PG, AUTH_JWT_SECRET: "short" })).toEqual([
      "AUTH_JWT_SECRET: must be at least 32 characters",
    ]);
  });

  it("defaults NODE_ID to FLY_MACHINE_ID, and NODE_ID wins when both are set", () => {
    expect(loadConfig({ FLY_MACHINE_ID: "148e21ea7e1089" }).nodeId).toBe("148e21ea7e1089");
    expect(loadConfig({ FLY_MACHINE_ID: "148e21ea7e1089", NODE_ID: "mine" }).nodeId).toBe("mine");
  });

  it("defaults DATABASE_LISTEN_URL to DATABASE_URL", () => {
    const config = loadConfig({ DATABASE_URL: PG, AUTH_JWT_SECRET: SECRET });
    expect(config.databaseListenUrl).toBe(PG);
  });

  it("treats a CORS list containing * as any origin", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://a.example,*" }).corsOrigins).toBe("*");
  });

  it("refuses a CORS list that names no origin", () => {
    for (const value of [",", " , ", ",,"]) {
      expect(problemsOf({ CORS_ORIGINS: value })).toEqual([
        "CORS_ORIGINS: names no origin (use * for any)",
      ]);
    }
  });

  it("never turns dev tokens on with NODE_ENV=production, whatever the database", () => {
    expect(problemsOf({ NODE_ENV: "production" })).toEqual([
      "AUTH_JWT_SECRET: required with NODE_ENV=production",
    ]);
    const embedded = loadConfig({ NODE_ENV: "production", AUTH_JWT_SECRET: SECRET });
    expect(embedded.devTokens).toBe(false);
    expect(embedded.production).toBe(true);
    expect(
      loadConfig({ NODE_ENV: "production", DATABASE_URL: PG, AUTH_JWT_SECRET: SECRET }).devTokens,
    ).toBe(false);
    expect(loadConfig({ NODE_ENV: "development" }).devTokens).toBe(true);
  });

  it("stops the start when AUTH_DEV_TOKENS=true meets NODE_ENV=production", () => {
    expect(
      problemsOf({
        NODE_ENV: "production",
        DATABASE_URL: PG,
        AUTH_JWT_SECRET: SECRET,
        AUTH_DEV_TOKENS: "true",
      }),
    ).toEqual(["AUTH_DEV_TOKENS: dev tokens cannot be on with NODE_ENV=production"]);
    expect(
      problemsOf({ NODE_ENV: "production", AUTH_DEV_TOKENS: "yes", AUTH_JWT_SECRET: SECRET }),
    ).toEqual(["AUTH_DEV_TOKENS: dev tokens cannot be on with NODE_ENV=production"]);
  });

  it("accepts the usual spellings of true and false", () => {
    for (const yes of ["true", "1", "yes"]) {
      expect(loadConfig({ DATABASE_URL: PG, AUTH_DEV_TOKENS: yes }).devTokens).toBe(true);
    }
    for (const no of ["false", "0", "no"]) {
      expect(loadConfig({ AUTH_DEV_TOKENS: no, AUTH_JWT_SECRET: SECRET }).devTokens).toBe(false);
    }
  });

  it("returns a frozen object", () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(3000);
  });
});

describe("configuration docs", () => {
  const variables = Object.keys(EnvSchema.shape).sort();
  const defaults = EnvSchema.parse({}) as Record<string, unknown>;
  const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8");

  it("lists exactly the variables loadConfig reads in .env.example, each with its default", () => {
    const lines = read(".env.example").split("\n");
    const listed = new Map<string, string>();
    for (const line of lines) {
      const match = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (match?.[1]) listed.set(match[1], match[2] ?? "");
    }
    expect([...listed.keys()].sort()).toEqual(variables);
    for (const [name, value] of Object.entries(defaults)) {
      if (value !== undefined) expect(listed.get(name), name).toBe(String(value));
    }
  });

  it("lists exactly the variables loadConfig reads in README's table, each with its default", () => {
    const rows = new Map<string, string>();
    for (const line of read("README.md").split("\n")) {
      const match = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]+?)\s*\|/.exec(line);
      if (match?.[1]) rows.set(match[1], match[2]?.trim() ?? "");
    }
    expect([...rows.keys()].sort()).toEqual(variables);
    for (const [name, value] of Object.entries(defaults)) {
      if (value !== undefined) expect(rows.get(name), name).toBe(`\`${String(value)}\``);
    }
  });
});
