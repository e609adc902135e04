import { describe, expect, it } from 'vitest';
import { assessLearning, majorityRate, START_PRESETS } from '../../src/shared/learning-check';

describe('assessLearning', () => {
  it('flags a from-scratch model at the majority rate and proposes the from-scratch learning rate', () => {
    const support = [40, 30, 20, 10, 10, 10, 5, 5];
    const v = assessLearning({ accuracy: 40 / 130, supportPerClass: support, learningRate: 2e-5, epochs: 1, start: 'scratch' });
    expect(v.learned).toBe(false);
    if (v.learned) return;
    expect(v.majorityRate).toBeCloseTo(40 / 130);
    expect(v.suggestion).toEqual({ learningRate: START_PRESETS.scratch.learningRate, epochs: START_PRESETS.scratch.epochs });
    expect(v.advice).toMatch(/has not learned/);
    expect(v.advice).toContain('learning rate 0.001');
  });

  it('passes a model clearly above the majority rate', () => {
    const v = assessLearning({ accuracy: 0.79, supportPerClass: [50, 50], learningRate: 1e-3, epochs: 5, start: 'scratch' });
    expect(v.learned).toBe(true);
  });

  it('suggests more epochs when the learning rate already suits the start', () => {
    const v = assessLearning({ accuracy: 0.5, supportPerClass: [50, 50], learningRate: 1e-3, epochs: 2, start: 'scratch' });
    expect(v.learned).toBe(false);
    if (!v.learned) expect(v.suggestion).toEqual({ learningRate: 1e-3, epochs: 5 });
  });

  it('majority rate of no rows is 0', () => {
    expect(majorityRate([])).toBe(0);
    expect(majorityRate([3, 1])).toBe(0.75);
  });
});
