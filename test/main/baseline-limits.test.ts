/**
 * The keyword baseline's limits: L-BFGS over classes × features takes minutes (and its weights
 * gigabytes) on a dataset with thousands of classes. Above BASELINE_MAX_CLASSES it is not
 * computed: prepareDataset says so in the dataset's warnings without starting a worker,
 * computeBaseline refuses with the same words ('unsupported'), and the engine refuses too (the
 * CLI and any direct caller). A fit too large in weights (features × classes) is refused after
 * vectorising, before the weights are allocated.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { dispatch } from '../../src/main/dispatch';
import { trainBaseline } from '../../src/main/engine/baseline';
import { BASELINE_MAX_CLASSES, baselineNotComputedReason } from '../../src/shared/baseline';
import { fakeLauncher, type FakeWorker } from '../helpers/fake-worker';

let dir: string;
let app: App;
let workers: FakeWorker[];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-baseline-limits-'));
  const fake = fakeLauncher();
  workers = fake.workers;
  app = createApp({ dataDir: dir, host: 'cli', launcher: fake.launcher, workerEntry: 'unused.js' });
});
afterAll(() => {
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A CSV with `classes` classes of three rows each. */
function manyClasses(classes: number): string {
  const lines = ['text,label'];
  for (let c = 0; c < classes; c++) for (let r = 0; r < 3; r++) lines.push(`word${c} thing${r} sample text ${c}-${r},class_${c}`);
  const file = path.join(dir, `classes-${classes}.csv`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('keyword baseline limits', () => {
  it('the reason names the class count and the limit; none at or under the limit', () => {
    expect(baselineNotComputedReason(BASELINE_MAX_CLASSES)).toBeNull();
    expect(baselineNotComputedReason(4)).toBeNull();
    expect(baselineNotComputedReason(10_000)).toBe(`not computed: 10,000 classes; the keyword baseline is computed for up to ${BASELINE_MAX_CLASSES.toLocaleString('en-US')} classes`);
  });

  it(`prepareDataset with ${BASELINE_MAX_CLASSES + 1} classes: prepared, no baseline, a warning that says why, no worker started`, async () => {
    const file = manyClasses(BASELINE_MAX_CLASSES + 1);
    const inspection = await app.api.inspectDataset(file);
    const before = workers.length;
    // Should a worker start, it is answered at once (a failure) so the test ends with a verdict.
    const timer = setInterval(() => workers.slice(before).forEach((w) => w.emit({ type: 'failed', error: 'a worker was started' })), 20);
    try {
      const ds = await app.api.prepareDataset({ file, mapping: inspection.suggestedMapping!, split: { kind: 'ratio', evalRatio: 0.34, seed: 1 } });
      expect(ds.labels.length).toBe(BASELINE_MAX_CLASSES + 1);
      expect(ds.baseline).toBeNull();
      expect(ds.warnings.join('\n')).toContain(`The keyword baseline was not computed: ${(BASELINE_MAX_CLASSES + 1).toLocaleString('en-US')} classes; the keyword baseline is computed for up to`);
      expect(workers.length - before).toBe(0);
      const r = await dispatch(app.api, 'computeBaseline', [ds.id]);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'unsupported', message: expect.stringContaining(`not computed: ${(BASELINE_MAX_CLASSES + 1).toLocaleString('en-US')} classes`) });
      expect(workers.length - before).toBe(0);
    } finally {
      clearInterval(timer);
    }
  }, 120_000);

  it('the engine refuses too many classes before vectorising, and too many weights before allocating them', async () => {
    const K = BASELINE_MAX_CLASSES + 1;
    const labels = Int32Array.from({ length: K }, (_, i) => i);
    const texts = Array.from({ length: K }, (_, i) => `word${i} other`);
    await expect(trainBaseline({ texts, labels, labelNames: Array.from({ length: K }, (_, i) => `c${i}`) })).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining(`not computed: ${K.toLocaleString('en-US')} classes`) });
    // 50 classes × ~3,000 distinct terms: over a budget of 100,000 weights.
    const texts2 = Array.from({ length: 1000 }, (_, i) => `alpha${i} beta${i}`);
    const labels2 = Int32Array.from({ length: 1000 }, (_, i) => i % 50);
    await expect(trainBaseline({ texts: texts2, labels: labels2 }, { maxParameters: 100_000 })).rejects.toMatchObject({ code: 'unsupported', message: expect.stringMatching(/not computed: [\d,]+ word features × 50 classes/) });
  });
});
