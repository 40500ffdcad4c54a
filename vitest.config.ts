import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Tests of the tooling (build, bench, k6 scripts) rather than the product: slower, and their
    // failures say nothing about the gateway. `npm run test:tools` (vitest.tools.config.ts).
    exclude: [...configDefaults.exclude, "test/tools/**", "test/bench-smoke.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one worker per core less one: a single worker on a 2-core machine, so
    // files ran one by one. Most of a file's time is waiting on sockets, Postgres and children.
    maxWorkers: 3,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
