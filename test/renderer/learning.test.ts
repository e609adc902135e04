import { describe, expect, it } from 'vitest';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { EvalMetrics } from '../../src/shared/types';
import { learningOf, rerunPrefill, supportOf } from '../../src/renderer/src/lib/learning';
import { Wizard } from '../../src/renderer/src/lib/wizard.svelte';

const config = (over: Partial<RunConfig> = {}, options: Partial<RunConfig['options']> = {}): RunConfig => ({
  name: 'mini on news (again)',
  model: { source: '/data/models/scratch-mini', path: '/data/models/scratch-mini' },
  labels: ['a', 'b', 'c'],
  dataset: { fingerprint: 'f'.repeat(64), name: 'news.csv', trainCount: 100, evalCount: 30, path: null },
  options: { ...RECOMMENDED_OPTIONS, ...options },
  ...over,
});
/** Every row predicted as label 0 (the most common, 12 of 30 rows). */
const oneLabel: EvalMetrics = { step: 1, epoch: 1, evalLoss: 1.1, accuracy: 12 / 30, macroF1: 0.19, perClass: [], confusion: [[12, 0, 0], [10, 0, 0], [8, 0, 0]] };
const good: EvalMetrics = { ...oneLabel, accuracy: 0.8, confusion: [[10, 1, 1], [1, 8, 1], [1, 1, 6]] };

describe('the learning check in the UI', () => {
  it('counts the rows per true label from the confusion matrix', () => {
    expect(supportOf(oneLabel)).toEqual([12, 10, 8]);
  });

  it('flags a from-scratch run at the majority rate and suggests the scratch settings', () => {
    const v = learningOf(config({ modelStart: 'scratch' }), oneLabel);
    expect(v?.learned).toBe(false);
    if (v && !v.learned) {
      expect(v.majorityRate).toBeCloseTo(0.4);
      expect(v.suggestion).toEqual({ learningRate: 1e-3, epochs: 5 });
    }
  });

  it('passes a run above the majority rate, and judges nothing without an evaluation', () => {
    expect(learningOf(config(), good)?.learned).toBe(true);
    expect(learningOf(config(), null)).toBeNull();
    expect(learningOf(null, good)).toBeNull();
  });

  it('a pretrained run is judged with the pretrained rules (no scratch learning rate)', () => {
    const v = learningOf(config(), oneLabel);
    expect(v?.learned).toBe(false);
    if (v && !v.learned) expect(v.suggestion?.learningRate).not.toBe(1e-3);
  });
});

describe('run again, prefilled', () => {
  it('opens the wizard with the run’s data, model and settings plus the suggested change', () => {
    const storage = new Map<string, string>();
    const w = new Wizard({ getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) });
    w.setRun('old-run');
    const { run, change } = rerunPrefill(config({ modelStart: 'scratch' }, { learningRate: 2e-5, epochs: 1 }), { learningRate: 1e-3, epochs: 5 });
    w.prefillFromRun(run, change);
    expect(w.data).toMatchObject({
      datasetId: 'f'.repeat(64),
      datasetName: 'news.csv',
      model: '/data/models/scratch-mini',
      modelStart: 'scratch',
      runName: 'mini on news (again)',
      runId: null,
    });
    expect(w.data.options.learningRate).toBe(1e-3);
    expect(w.data.options.epochs).toBe(5);
    expect(w.data.preset).toBe('custom');
  });
});
