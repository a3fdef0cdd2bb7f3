/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the console with hot reload and sends /api (HTTP and websockets) to the
// platform that `make up` runs on :8080, so the console talks to the real services while developing.
const platform = process.env.PARLEY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: { "/api": { target: platform, changeOrigin: false, ws: true } },
  },
  build: {
    outDir: "dist",
    sourcemap: false,
    // Each route is its own chunk (React.lazy); vendor libraries shared by all stay in one.
    chunkSizeWarningLimit: 900,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    testTimeout: 15000,
  },
});
