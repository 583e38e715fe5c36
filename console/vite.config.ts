/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";

/** Writes x.js.br and x.js.gz beside every script and style, so the service sends them without compressing per request. */
function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "akshareweb-precompress",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const assets = join(outDir, "assets");
      for (const name of readdirSync(assets)) {
        if (!/\.(js|css|svg|json)$/.test(name)) continue;
        const content = readFileSync(join(assets, name));
        writeFileSync(join(assets, `${name}.gz`), gzipSync(content, { level: 9 }));
        writeFileSync(join(assets, `${name}.br`), brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

export default defineConfig({
  // Relative asset addresses: the service sets <base href> to its path base, so the console works under a proxy's prefix.
  base: "./",
  plugins: [
    vue(),
    // Element Plus components and their styles are imported where a template uses them, nothing else.
    Components({ resolvers: [ElementPlusResolver({ importStyle: "css" })], dts: "components.d.ts" }),
    precompress(),
  ],
  resolve: {
    alias: {
      "@": fileURLToPath(new URL("./src", import.meta.url)),
      // The generated client of the API, from its source: a change of openapi.json that breaks a call breaks this build.
      "@client": fileURLToPath(new URL("../clients/typescript/src/client.ts", import.meta.url)),
    },
    // clients/typescript has no node_modules of its own in a fresh clone; its one dependency comes from here.
    dedupe: ["openapi-fetch"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    manifest: true,
    chunkSizeWarningLimit: 1200,
  },
  test: {
    environment: "happy-dom",
    environmentOptions: { happyDOM: { url: "http://localhost/" } },
    include: ["tests/unit/**/*.test.ts"],
    // Mounting Element Plus in happy-dom takes seconds on a loaded 2-core machine; the default 5 s is no verdict there.
    testTimeout: 30_000,
    // Element Plus's components import their CSS; Vite, not Node, has to load them.
    server: { deps: { inline: ["element-plus"] } },
  },
});
