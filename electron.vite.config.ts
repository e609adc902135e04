import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Electron is an optional dependency: on a machine that cannot reach GitHub its download fails,
// npm removes it and the app runs in the browser host. electron-vite reads Electron's major
// version (for the Node/Chrome build targets) from electron/package.json and fails without it,
// so when Electron is absent the major version comes from the range package.json asks for.
if (!process.env.ELECTRON_MAJOR_VER) {
  try {
    createRequire(import.meta.url).resolve('electron/package.json');
  } catch {
    const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
    const major = /\d+/.exec(pkg.optionalDependencies?.electron ?? '')?.[0];
    if (major) process.env.ELECTRON_MAJOR_VER = major;
  }
}

export default defineConfig({
  main: {
    build: {
      // npm dependencies stay in node_modules (native modules, wasm files, optional backends).
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          serve: resolve('src/main/serve.ts'),
          cli: resolve('src/main/cli.ts'),
          trainer: resolve('src/main/engine/worker.ts'),
          // Inspect, doctor and prepare run in worker threads (src/main/data/worker-pool.ts).
          'data-worker': resolve('src/main/data/worker-entry.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload is one CommonJS file that can require only 'electron'.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    plugins: [svelte({ configFile: false })],
    build: {
      // Smaller bundle, faster first paint (electron-vite leaves the renderer unminified by default).
      minify: true,
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
  },
});
