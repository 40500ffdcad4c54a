/**
 * Library build of the client SDK (src/sdk) for browsers and Node, ESM.
 *
 *   vite build -c vite.sdk.config.ts                 → dist/sdk/index.js, socket.io-client external
 *   vite build -c vite.sdk.config.ts --mode bundled  → dist/sdk/tkr-sdk.bundle.js, self-contained
 *
 * The first is for apps with their own bundler (they bring socket.io-client once). The bundled
 * one loads straight into a page with `<script type="module">`; the browser test uses it.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig(({ mode }) => {
  const bundled = mode === "bundled";
  return {
    publicDir: false,
    build: {
      outDir: fileURLToPath(new URL("./dist/sdk", import.meta.url)),
      // The bundled build runs second into the same folder and must keep the first one's files.
      emptyOutDir: !bundled,
      target: "es2022",
      sourcemap: true,
      minify: true,
      lib: {
        entry: fileURLToPath(new URL("./src/sdk/index.ts", import.meta.url)),
        formats: ["es"],
        fileName: () => (bundled ? "tkr-sdk.bundle.js" : "index.js"),
      },
      rolldownOptions: {
        external: bundled ? [] : ["socket.io-client", /^socket\.io-client\//],
        // Vite keeps whitespace in ES library builds so consumers' minifiers see pure
        // annotations; the bundled file goes straight into pages, so it is minified fully.
        ...(bundled ? { output: { minify: true } } : {}),
      },
    },
  };
});
