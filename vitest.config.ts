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
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
