/**
 * `npm run test:tools`: tests that build the project (tsc, Vite) and run what was built. Slower
 * than the rest, so kept out of `npm test`; CI runs both.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/tools/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: false,
  },
});
