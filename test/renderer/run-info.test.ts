import { describe, expect, it } from 'vitest';
import { RECOMMENDED_OPTIONS, type RunConfig } from '../../src/shared/run-config';
import type { EvalMetrics } from '../../src/shared/types';
import { backendText, bestEvalOf, canResume, modelName, parseRunConfig, progressOf, totalStepsOf } from '../../src/renderer/src/lib/run-info';
import { heatAlpha, runLabels, topProbabilities } from '../../src/renderer/src/lib/results';
import { toAppError, userMessage } from '../../src/renderer/src/lib/app-error';
import { AppError } from '../../src/shared/errors';

const config = (over: Partial<RunConfig['options']> = {}, trainCount = 1000): RunConfig => ({
  name: 'r',
  model: { source: 'bert', path: '/m' },
  labels: ['a', 'b'],
  dataset: { fingerprint: 'f', name: 'd', trainCount, evalCount: 10, path: null },
  options: { ...RECOMMENDED_OPTIONS, ...over },
});
const e = (step: number, acc: number, f1: number, loss: number): EvalMetrics => ({ step, epoch: step, evalLoss: loss, accuracy: acc, macroF1: f1, perClass: [], confusion: [] });

describe('run info', () => {
  it('counts optimizer steps as the engine does', () => {
    expect(totalStepsOf(config({ batchSize: 16, epochs: 3 }, 1000))).toBe(3 * 63);
    expect(totalStepsOf(config({ batchSize: 16, epochs: 1, gradientAccumulationSteps: 4 }, 1000))).toBe(16);
    expect(totalStepsOf(config({ batchSize: 32, epochs: 0.5 }, 100))).toBe(2);
  });
  it('parses a recorded configuration, or gives null', () => {
    expect(parseRunConfig(config() as never)?.options.batchSize).toBe(16);
    expect(parseRunConfig({ name: 'old format' })).toBeNull();
    expect(parseRunConfig(null)).toBeNull();
  });
  it('finds the best evaluation by its metric (the first on ties)', () => {
    const evals = [e(1, 0.8, 0.7, 0.5), e(2, 0.85, 0.69, 0.4), e(3, 0.85, 0.75, 0.45)];
    expect(bestEvalOf(evals, 'accuracy')?.step).toBe(2);
    expect(bestEvalOf(evals, 'macro_f1')?.step).toBe(3);
    expect(bestEvalOf(evals, 'eval_loss')?.step).toBe(2);
    expect(bestEvalOf([], 'accuracy')).toBeNull();
  });
  it('progress from the record before any live step', () => {
    const p = progressOf({
      summary: { status: 'completed', startedAt: 0, finishedAt: 90_000 },
      config: config({ batchSize: 100, epochs: 1 }),
      live: null,
      lastRecorded: { step: 10, epoch: 1, samplesPerSecond: 50 },
      now: 1_000_000,
    });
    expect(p).toMatchObject({ step: 10, totalSteps: 10, fraction: 1, elapsedSeconds: 90, etaSeconds: null, samplesPerSecond: 50 });
  });
  it('resume and names', () => {
    expect(canResume('interrupted')).toBe(true);
    expect(canResume('completed')).toBe(false);
    expect(modelName('/home/me/models/my-bert/')).toBe('my-bert');
    expect(modelName('C:\\models\\bert')).toBe('bert');
    expect(modelName('google/bert_uncased_L-2_H-128_A-2')).toBe('google/bert_uncased_L-2_H-128_A-2');
    expect(backendText('native')).toBe('CPU (native kernels)');
    expect(backendText(null)).toBe('—');
  });
});

describe('results helpers', () => {
  it('heat map shading is the share of the row, visible when non-zero', () => {
    expect(heatAlpha(0, 10)).toBe(0);
    expect(heatAlpha(10, 10)).toBe(1);
    expect(heatAlpha(1, 100)).toBeGreaterThan(0.05);
    expect(heatAlpha(5, 0)).toBe(0);
  });
  it('top probabilities of an evaluation row', () => {
    expect(topProbabilities({ probs: [0.1, 0.7, 0.2] }, ['a', 'b', 'c'], 2)).toEqual([
      { label: 'b', p: 0.7 },
      { label: 'c', p: 0.2 },
    ]);
  });
  it('labels of a run', () => {
    expect(runLabels({ labels: ['x', 'y'] })).toEqual(['x', 'y']);
    expect(runLabels(null, [{ label: 'p' }])).toEqual(['p']);
  });
});

describe('error messages for people', () => {
  it('keeps the code and field of a typed error; anything else is internal (no code is read out of message text)', () => {
    const err = toAppError({ code: 'not_found', message: 'There is no run "x".', field: 'id' });
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('There is no run "x".');
    expect(err.field).toBe('id');
    const text = toAppError(new Error('[not_found] There is no run "x".'));
    expect(text.code).toBe('internal');
  });
  it('never shows a stack trace, and says what to do', () => {
    const msg = userMessage(new AppError('internal', 'TypeError: x is undefined\n    at foo (/app/out/main/index.js:10:5)\n    at bar (node:internal)'));
    expect(msg).not.toMatch(/\bat \//);
    expect(msg).toMatch(/^TypeError: x is undefined\. This is a bug/);
    expect(userMessage(new AppError('network', 'cannot reach the Hub; check the connection'))).toBe('cannot reach the Hub; check the connection');
    expect(userMessage(new AppError('io', 'disk full'))).toMatch(/disk full\. Check that the file/);
    expect(userMessage(new AppError('invalid_input', 'x'.repeat(1000))).length).toBeLessThanOrEqual(400);
  });
});

describe('messages in plain words', () => {
  it('shows the user’s file name instead of the uploaded copy’s', async () => {
    const { rememberFileName, displayText } = await import('../../src/renderer/src/lib/app-error');
    rememberFileName('/data/uploads/1796397272197-e3225d-empty.csv', 'empty.csv');
    expect(displayText('/data/uploads/1796397272197-e3225d-empty.csv: the file has no rows')).toBe('empty.csv: the file has no rows');
    expect(displayText('1796397272197-e3225d-empty.csv has no rows')).toBe('empty.csv has no rows');
    expect(userMessage(new AppError('invalid_input', '1796397272197-e3225d-empty.csv has no rows'))).toBe('empty.csv has no rows');
  });

  it('puts system error codes behind details', async () => {
    const { plainMessage } = await import('../../src/renderer/src/lib/app-error');
    const m = plainMessage(new AppError('network', 'request to https://huggingface.co failed: getaddrinfo ENOTFOUND huggingface.co'));
    expect(m.text).not.toMatch(/ENOTFOUND/);
    expect(m.text).toMatch(/could not be found/);
    expect(m.details).toMatch(/ENOTFOUND huggingface.co/);
    expect(plainMessage(new AppError('invalid_input', 'the name cannot be empty'))).toEqual({ text: 'the name cannot be empty', details: null });
  });
});
