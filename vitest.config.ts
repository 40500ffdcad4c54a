import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "loadtest/**/*.test.ts"],
    // Build-dependent and slow: `npm run test:tools` (vitest.tools.config.ts).
    exclude: [...configDefaults.exclude, "test/tools/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
