#!/usr/bin/env node
/**
 * Builds the native kernels addon (native/binding.gyp) with node-gyp. Used as the npm "install"
 * script, so it must never make `npm install` fail: without a C++ compiler, Python or node-gyp it
 * prints a warning and exits 0, and the engine then runs on the pure backends and says why.
 *
 *   node scripts/build-native.mjs            build; warn and exit 0 on failure
 *   node scripts/build-native.mjs --strict   exit 1 on failure (CI, to catch a broken build)
 *
 * FINETUNE_NATIVE=off skips the build. The addon uses Node-API only, so the same binary loads in
 * Electron: no rebuild for Electron's ABI is needed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeGyp, onPath } from './lib/node-gyp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const addonFile = path.join(nativeDir, 'build', 'Release', 'finetune_native.node');
const strict = process.argv.includes('--strict') || process.env.FINETUNE_NATIVE_STRICT === '1';

function warn(message) {
  const line = `finetune-studio: native kernels not built: ${message}. Training will use the WebAssembly backend.`;
  if (strict) {
    console.error(line);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

if (['off', '0', 'false'].includes((process.env.FINETUNE_NATIVE ?? '').trim().toLowerCase())) {
  console.log('finetune-studio: FINETUNE_NATIVE=off, native kernels not built');
  process.exit(0);
}

/** Headers of the running Node when they are installed beside it (distro packages, official tarballs): no download. */
function localNodeDir() {
  if (process.env.npm_config_nodedir) return null; // node-gyp reads it itself
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

if (process.platform !== 'win32') {
  const compiler = ['c++', 'g++', 'clang++'].find(onPath);
  if (!compiler) warn('no C++ compiler found (install build-essential, or the Xcode command line tools)');
  if (!['python3', 'python'].some(onPath)) warn('python3 is needed by node-gyp and was not found');
  if (!onPath('make')) warn('make is needed by node-gyp and was not found');
}

const gyp = findNodeGyp(root);
if (!gyp) warn('node-gyp was not found (it ships with npm)');

const args = [...gyp.args, 'rebuild', '--release', '--jobs', 'max'];
const nodedir = localNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
console.log(`finetune-studio: building native kernels (${path.relative(root, nativeDir)}/binding.gyp)`);
const build = spawnSync(gyp.cmd, args, { cwd: nativeDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: gyp.cmd === 'node-gyp' && process.platform === 'win32' });
if (build.error || build.status !== 0) {
  const output = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim().split('\n');
  const useful = output.filter((l) => /error/i.test(l) && !/^gyp ERR! (stack at|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
  const tail = (useful.length ? useful : output).slice(-6).join('\n');
  if (tail) console.warn(tail);
  warn(build.error ? build.error.message : `node-gyp exited with status ${build.status}`);
}
if (!fs.existsSync(addonFile)) warn(`the build did not produce ${path.relative(root, addonFile)}`);

// Load it once in a fresh process: catches a binary that builds but cannot load here.
const check = spawnSync(
  process.execPath,
  ['-e', `const i = require(${JSON.stringify(addonFile)}).info(); console.log(i.gemm + ', ' + i.threads + ' threads' + (i.blas ? '' : ' (no BLAS: ' + i.blasError + ')'))`],
  { encoding: 'utf8' },
);
if (check.status !== 0) warn(`the addon was built but does not load: ${(check.stderr || '').trim().split('\n')[0]}`);
console.log(`finetune-studio: native kernels built (${path.relative(root, addonFile)}): matmul on ${check.stdout.trim()}`);
