/**
 * Builds the web UI (src/web) into dist/web, which the gateway serves with an index.html
 * fallback. Hashed file names under /assets/ let the gateway cache them as immutable.
 * `vite` (dev server) proxies the API and Socket.IO to a gateway on GATEWAY_URL or :3000.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("./dist/web", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: true,
  },
  server: {
    proxy: {
      "/v1": gateway,
      "/socket.io": { target: gateway, ws: true },
    },
  },
});
