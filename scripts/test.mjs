#!/usr/bin/env node
/**
 * `npm test` after the build: the whole suite once, then the engine's golden tests again on each
 * other backend (wasm; native with the platform BLAS and with the own kernels; webgpu on a software
 * adapter), and the native kernel tests with the addon switched off (they must skip, saying why).
 * Any failure fails all.
 *
 * A skipped test is a test that did not run: each pass lists the skips it expects (by title), and
 * under CI (CI=true) any other skip fails the run, so a missing torch, BLAS or addon cannot let CI
 * pass silently. Outside CI the unexpected skips are listed as a warning.
 *
 *   node scripts/test.mjs [--quick]   --quick: only the whole suite
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const GOLDEN = ['test/engine/forward.test.ts', 'test/engine/train-step.test.ts', 'test/engine/tokenizer.test.ts', 'test/engine/reference-scale.test.ts', 'test/engine/mlm.test.ts'];

// Skips expected everywhere: Python transformers is not a dependency (CI has torch only), and the
// "without the addon" suites run only in the pass that switches the addon off.
const ALWAYS_ALLOWED = [/runs one tiny training step with Python transformers/, /without the addon/];

const passes = [
  { name: 'whole suite (engine on the JavaScript cpu backend)', env: {}, files: [] },
  { name: 'engine goldens and trainer on wasm', env: { FINETUNE_TEST_BACKEND: 'wasm' }, files: [...GOLDEN, 'test/engine/trainer.test.ts', 'test/engine/trainer-mlm.test.ts'] },
  { name: 'engine goldens and trainer on native (platform BLAS when present)', env: { FINETUNE_TEST_BACKEND: 'native' }, files: [...GOLDEN, 'test/engine/trainer.test.ts', 'test/engine/trainer-mlm.test.ts'] },
  { name: 'native kernels and engine goldens with the own GEMM kernels', env: { FINETUNE_TEST_BACKEND: 'native', FINETUNE_NATIVE_GEMM: 'own' }, files: ['test/native', ...GOLDEN] },
  // No GPU in CI: Mesa's llvmpipe through Dawn's OpenGL ES backend is the adapter (FINETUNE_TEST_BACKEND
  // asks for webgpu by name, which is what allows a software adapter).
  // The fused WGSL kernels are on by default; the tfjs op chains they replace must pass the goldens too.
  { name: 'engine goldens and trainer on webgpu (software adapter)', env: { FINETUNE_TEST_BACKEND: 'webgpu', EGL_PLATFORM: 'surfaceless' }, files: [...GOLDEN, 'test/engine/trainer.test.ts', 'test/webgpu'] },
  { name: 'engine goldens on webgpu with the tfjs op chains (FINETUNE_WEBGPU_FUSED=off)', env: { FINETUNE_TEST_BACKEND: 'webgpu', EGL_PLATFORM: 'surfaceless', FINETUNE_WEBGPU_FUSED: 'off' }, files: GOLDEN },
  { name: 'native kernel tests without the addon (they skip, saying why)', env: { FINETUNE_NATIVE: 'off' }, files: ['test/native'], allowSkips: [/^native /, /GEMM with a GELU epilogue/, /skips, saying why/] },
];

const quick = process.argv.includes('--quick');
let failed = 0;
for (const pass of quick ? passes.slice(0, 1) : passes) {
  console.log(`\n=== ${pass.name} ===`);
  const started = Date.now();
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ft-test-')), 'report.json');
  const r = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...pass.files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...pass.env },
  });
  const unexpected = unexpectedSkips(report, [...ALWAYS_ALLOWED, ...(pass.allowSkips ?? [])]);
  if (unexpected.length) {
    console.log(`${process.env.CI ? 'FAIL' : 'warning'}: ${unexpected.length} test(s) skipped that this pass expects to run:`);
    for (const t of unexpected) console.log(`  - ${t}`);
  }
  const ok = r.status === 0 && !(process.env.CI && unexpected.length);
  console.log(`=== ${pass.name}: ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s ===`);
  if (!ok) failed++;
}
process.exit(failed ? 1 : 0);

/** Titles of skipped tests in vitest's JSON report that match none of the allowed patterns. */
function unexpectedSkips(reportFile, allowed) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  } catch {
    return [];
  }
  const out = [];
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status !== 'skipped' && t.status !== 'pending') continue;
      const name = [...(t.ancestorTitles ?? []), t.title].join(' > ');
      if (!allowed.some((re) => re.test(name))) out.push(`${path.relative(root, file.name)}: ${name}`);
    }
  }
  return out;
}
