/**
 * The engine window is a sandboxed renderer: no Node. Its built page must carry no Node imports
 * (node:, fs, path, module...), no require(), and not Dawn's Node binding (the build swaps
 * webgpu/device.ts for src/engine-window/webgpu-device.ts). Reads the page's chunks as built,
 * following their static and dynamic imports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../helpers/app';

const OUT = path.join(REPO_DIR, 'out/renderer');
const PAGE = path.join(OUT, 'engine-window/index.html');
const NODE_BUILTINS = ['fs', 'path', 'module', 'url', 'os', 'child_process', 'worker_threads', 'crypto', 'util', 'stream', 'buffer', 'zlib', 'http', 'https', 'net'];

/** Every import specifier in a chunk: `from "x"`, `import "x"`, `import("x")`, `import(\`x\`)`. */
function specifiers(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/\bfrom\s*["'`]([^"'`]+)["'`]|\bimport\s*["'`]([^"'`]+)["'`]|\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function pageChunks(): Map<string, string> {
  if (!fs.existsSync(PAGE)) throw new Error(`${PAGE} is missing: run "npx electron-vite build" before this test (npm test does).`);
  const html = fs.readFileSync(PAGE, 'utf8');
  const queue = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => path.resolve(path.dirname(PAGE), m[1]!));
  const chunks = new Map<string, string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (chunks.has(file)) continue;
    const code = fs.readFileSync(file, 'utf8');
    chunks.set(file, code);
    for (const s of specifiers(code)) if (s.startsWith('.')) queue.push(path.resolve(path.dirname(file), s));
  }
  return chunks;
}

describe('engine window bundle (out/renderer/engine-window)', () => {
  it('loads only its own chunks: no Node modules, no require, no Dawn binding', () => {
    const chunks = pageChunks();
    // The page and the tfjs webgpu backend chunk it loads on demand.
    expect(chunks.size).toBeGreaterThanOrEqual(2);
    const bad: string[] = [];
    for (const [file, code] of chunks) {
      const name = path.relative(OUT, file);
      for (const s of specifiers(code)) {
        if (!s.startsWith('./') && !s.startsWith('../')) bad.push(`${name} imports ${s}`);
        if (s.startsWith('node:') || NODE_BUILTINS.includes(s)) bad.push(`${name} imports the Node module ${s}`);
      }
      if (/\brequire\s*\(\s*["'`]/.test(code)) bad.push(`${name} calls require()`);
      if (/dawn\.node|createRequire/.test(code)) bad.push(`${name} carries Dawn's Node binding (webgpu/device.ts was not swapped)`);
    }
    expect(bad).toEqual([]);
  });

  it('asks navigator.gpu for its adapter (the browser device is the one bundled)', () => {
    const code = [...pageChunks().values()].join('\n');
    // Booleans, not the 1 MB bundle, in a failure message.
    expect(code.includes('via WebGPU (Chromium)'), 'src/engine-window/webgpu-device.ts is not in the bundle').toBe(true);
    expect(/\brequestAdapter\b/.test(code), 'the bundle never calls navigator.gpu.requestAdapter').toBe(true);
  });
});

describe('sandboxed preloads (out/preload)', () => {
  it('each is one file that requires only electron (a sandboxed preload can load nothing else)', () => {
    const dir = path.join(REPO_DIR, 'out/preload');
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    expect(entries.filter((e) => !e.isFile()).map((e) => e.name), 'shared chunks a sandboxed preload cannot require').toEqual([]);
    const files = entries.map((e) => e.name).sort();
    expect(files).toEqual(['engine.cjs', 'index.cjs']);
    for (const f of files) {
      const code = fs.readFileSync(path.join(dir, f), 'utf8');
      const required = [...code.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
      expect(required, f).toEqual(['electron']);
      expect(/\bimport\s*\(/.test(code), `${f} has a dynamic import`).toBe(false);
    }
  });
});
