import { defineConfig } from "vitest/config";

// The edge runtimes' tests (workerd and Deno, each bundled and started per file): apart from
// `npm test` because building and spawning the runtimes takes longer than the rest of a file.
export default defineConfig({
  test: {
    include: ["test/edge/**/*.spec.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
