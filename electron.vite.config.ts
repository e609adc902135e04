import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
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

/**
 * The engine window (src/engine-window/) runs the engine's webgpu backend in a Chromium renderer:
 * there webgpu/backend.ts's `./device` (Dawn's Node binding) is replaced by the page's
 * navigator.gpu device. Only that one import of that one file is redirected.
 */
function browserWebGpuDevice(): Plugin {
  const backend = resolve('src/main/engine/webgpu/backend.ts');
  const browserDevice = resolve('src/engine-window/webgpu-device.ts');
  return {
    name: 'finetune-browser-webgpu-device',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source !== './device' || !importer) return null;
      return resolve(importer.split('?')[0]!) === backend ? browserDevice : null;
    },
  };
}

/**
 * Vite names an HTML entry's output by its path under the renderer root (src/renderer), and
 * refuses one outside it. The engine window's page (src/engine-window/index.html) is entered as
 * src/renderer/engine-window/index.html, a path that exists only here: its text is the real file's,
 * with the script pointing back at src/engine-window/. It is built to out/renderer/engine-window/.
 */
const ENGINE_WINDOW_HTML = resolve('src/engine-window/index.html');
const ENGINE_WINDOW_ENTRY = resolve('src/renderer/engine-window/index.html');
function engineWindowPage(): Plugin {
  return {
    name: 'finetune-engine-window-page',
    enforce: 'pre',
    resolveId: (source) => (resolve(source) === ENGINE_WINDOW_ENTRY ? ENGINE_WINDOW_ENTRY : null),
    load(id) {
      if (id !== ENGINE_WINDOW_ENTRY) return null;
      return readFileSync(ENGINE_WINDOW_HTML, 'utf8').replace('src="./main.ts"', 'src="../../engine-window/main.ts"');
    },
  };
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
      // A sandboxed preload is one CommonJS file that can require only 'electron'. Two inputs rule
      // out codeSplitting: false; they share no module but a string constant, so no chunk is made
      // (test/engine-window/browser-safe.test.ts checks each preload requires only 'electron').
      externalizeDeps: false,
      rollupOptions: {
        // index: the app window's AppApi bridge; engine: the engine window's port hand-off.
        input: { index: resolve('src/preload/index.ts'), engine: resolve('src/preload/engine.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    plugins: [svelte({ configFile: false }), engineWindowPage(), browserWebGpuDevice()],
    build: {
      // Smaller bundle, faster first paint (electron-vite leaves the renderer unminified by default).
      minify: true,
      rollupOptions: {
        input: {
          index: resolve('src/renderer/index.html'),
          // The hidden engine window (WebGPU in Electron): out/renderer/engine-window/index.html.
          'engine-window': ENGINE_WINDOW_ENTRY,
        },
      },
    },
  },
});
