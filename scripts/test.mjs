#!/usr/bin/env node
/**
 * `npm test` after the build: the whole suite once, then the engine's golden tests again on each
 * other backend (wasm; native with the platform BLAS and with the own kernels), and the native
 * kernel tests with the addon switched off (they must skip, saying why). Any failure fails all.
 *
 *   node scripts/test.mjs [--quick]   --quick: only the whole suite
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const GOLDEN = ['test/engine/forward.test.ts', 'test/engine/train-step.test.ts', 'test/engine/tokenizer.test.ts', 'test/engine/reference-scale.test.ts'];

const passes = [
  { name: 'whole suite (engine on the JavaScript cpu backend)', env: {}, files: [] },
  { name: 'engine goldens and trainer on wasm', env: { FINETUNE_TEST_BACKEND: 'wasm' }, files: [...GOLDEN, 'test/engine/trainer.test.ts'] },
  { name: 'engine goldens and trainer on native (platform BLAS when present)', env: { FINETUNE_TEST_BACKEND: 'native' }, files: [...GOLDEN, 'test/engine/trainer.test.ts'] },
  { name: 'native kernels and engine goldens with the own GEMM kernels', env: { FINETUNE_TEST_BACKEND: 'native', FINETUNE_NATIVE_GEMM: 'own' }, files: ['test/native', ...GOLDEN] },
  { name: 'native kernel tests without the addon (they skip, saying why)', env: { FINETUNE_NATIVE: 'off' }, files: ['test/native'] },
];

const quick = process.argv.includes('--quick');
let failed = 0;
for (const pass of quick ? passes.slice(0, 1) : passes) {
  console.log(`\n=== ${pass.name} ===`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [vitest, 'run', ...pass.files], { cwd: root, stdio: 'inherit', env: { ...process.env, ...pass.env } });
  console.log(`=== ${pass.name}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s ===`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
