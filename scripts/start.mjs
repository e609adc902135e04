#!/usr/bin/env node
/**
 * `npm start`: builds the app and opens it in Electron. Electron loads native modules built for
 * its own ABI, so better-sqlite3 is rebuilt for Electron into .electron-native/<version>/ (the
 * Node build in node_modules stays for the CLI, the web host and the tests) and handed to the
 * app through FINETUNE_SQLITE_BINDING. Where Electron's binary is missing (its download failed
 * or was skipped), or that rebuild is impossible, it says so in one line and starts the browser
 * host instead.
 *
 *   node scripts/start.mjs [--no-build] [--webgpu|--webgpu=software]
 *     --no-build: use out/ as it is (tests that built it once)
 *     --webgpu:   (Linux) turn on Chromium's WebGPU so training uses the GPU (`npm start -- --webgpu`);
 *                 passed to the app (src/main/engine-window-policy.ts webGpuOptIn); macOS and
 *                 Windows have WebGPU without it
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { findNodeGyp } from './lib/node-gyp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

function startWebHost(reason) {
  const env = { ...process.env, FINETUNE_SERVE_BANNER: `${reason} Opening the browser host instead: open the URL below.` };
  const child = spawn(process.execPath, [path.join(root, 'out/main/serve.js')], { stdio: 'inherit', env });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** Electron's executable, or why there is none. */
function electronBinary() {
  let bin;
  try {
    bin = require('electron');
  } catch {
    bin = null;
  }
  if (typeof bin !== 'string' || !fs.existsSync(bin)) return { error: "Electron's binary is not installed (its download was skipped or failed)." };
  return { bin, version: require('electron/package.json').version };
}

/** better_sqlite3.node for Electron's ABI, built once per Electron version. */
function sqliteForElectron(version) {
  const outDir = path.join(root, '.electron-native', version);
  const binding = path.join(outDir, 'better_sqlite3.node');
  if (fs.existsSync(binding)) return { binding };
  const gyp = findNodeGyp(root);
  if (!gyp) return { error: 'node-gyp (it ships with npm) was not found to build better-sqlite3 for Electron.' };
  const src = path.dirname(require.resolve('better-sqlite3/package.json'));
  const work = path.join(root, '.electron-native', `build-${version}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.cpSync(src, work, { recursive: true, filter: (p) => !p.includes(`${path.sep}build${path.sep}`) && !p.endsWith(`${path.sep}build`) });
  console.log(`Building better-sqlite3 for Electron ${version} (once)...`);
  const r = run(gyp.cmd, [...gyp.args, 'rebuild', '--release', `--target=${version}`, '--dist-url=https://electronjs.org/headers', '--runtime=electron'], { cwd: work });
  const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
  if (r.status !== 0 || !fs.existsSync(built)) return { error: `better-sqlite3 could not be built for Electron ${version} (Electron's headers are needed from electronjs.org).` };
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(built, binding);
  fs.rmSync(work, { recursive: true, force: true });
  return { binding };
}

if (!process.argv.includes('--no-build')) {
  // The build's file list is for developers (npm run build shows it); a user sees one line, and the
  // whole output only when the build fails.
  console.log('Building Finetune Studio (under a minute)...');
  const build = run(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (build.status !== 0) {
    process.stdout.write(build.stdout ?? '');
    process.stderr.write(build.stderr ?? '');
    console.error('The build failed (above). Run "npm install" again, then "npm start".');
    process.exit(build.status ?? 1);
  }
}

const electron = electronBinary();
if (electron.error) {
  startWebHost(electron.error);
} else {
  const sqlite = sqliteForElectron(electron.version);
  if (sqlite.error) {
    startWebHost(sqlite.error);
  } else {
    // Everything but our own flag goes to the app (--webgpu).
    const appArgs = process.argv.slice(2).filter((a) => a !== '--no-build');
    const child = spawn(electron.bin, [root, ...appArgs], { stdio: 'inherit', env: { ...process.env, FINETUNE_SQLITE_BINDING: sqlite.binding } });
    child.on('exit', (code) => process.exit(code ?? 0));
  }
}
