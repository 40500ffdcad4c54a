/**
 * `npm run test:tools`: tests of the tooling rather than the product: the build (tsc, Vite, then
 * the compiled gateway and SDK), the bench harness and the k6 load-test scripts. Slower than the
 * rest, so kept out of `npm test`; CI runs both.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/tools/**/*.test.ts", "test/bench-smoke.test.ts", "loadtest/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: false,
  },
});
