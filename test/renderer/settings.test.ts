import { describe, expect, it } from 'vitest';
import { RECOMMENDED_OPTIONS } from '../../src/shared/run-config';
import type { TokenLengthReport } from '../../src/shared/dataset';
import { formatOptionValue, formatWeights, parseOptionInput, parseWeights, truncatedShareAt, validateOption, validateOptions } from '../../src/renderer/src/lib/settings';

describe('number inputs', () => {
  it('shows learning rates as people write them', () => {
    expect(formatOptionValue(2e-5)).toBe('2e-5');
    expect(formatOptionValue(5e-4)).toBe('5e-4');
    expect(formatOptionValue(0.01)).toBe('0.01');
    expect(formatOptionValue(3)).toBe('3');
    expect(formatOptionValue(null)).toBe('');
  });
  it('parses typed values; empty is null only where the field allows it', () => {
    expect(parseOptionInput('2e-5', {})).toBe(2e-5);
    expect(parseOptionInput(' 0,5 ', {})).toBe(0.5);
    expect(parseOptionInput('.1', {})).toBe(0.1);
    expect(parseOptionInput('', { nullable: true })).toBeNull();
    expect(parseOptionInput('', {})).toBeNaN();
    expect(parseOptionInput('abc', {})).toBeNaN();
    expect(parseOptionInput('1e', {})).toBeNaN();
  });
});

describe('validation with the reason', () => {
  it('uses the schema messages', () => {
    expect(validateOption('batchSize', 0)).toBe('the batch size must be at least 1');
    expect(validateOption('learningRate', 2)).toMatch(/above 1 diverges/);
    expect(validateOption('epochs', 0)).toBe('epochs must be more than 0');
    expect(validateOption('seed', 1.5)).toBe('the seed must be a whole number');
  });
  it('turns zod wording into plain words', () => {
    expect(validateOption('warmupSteps', 1.5)).toBe('enter a whole number');
    expect(validateOption('epochs', NaN)).toBe('enter a number');
    expect(validateOption('seed', -1)).toBe('must be at least 0');
  });
  it('accepts valid values and null where allowed', () => {
    expect(validateOption('earlyStoppingPatience', null)).toBeNull();
    expect(validateOption('learningRate', 2e-5)).toBeNull();
    expect(validateOptions(RECOMMENDED_OPTIONS, 4)).toEqual({});
  });
  it('class weights must match the labels', () => {
    expect(validateOptions({ ...RECOMMENDED_OPTIONS, classWeights: [1, 2] }, 3).classWeights).toMatch(/one class weight per label \(3\)/);
    expect(validateOptions({ ...RECOMMENDED_OPTIONS, classWeights: [1, 0] }, 2).classWeights).toMatch(/more than 0/);
  });
  it('weights as text', () => {
    expect(formatWeights([1.126760563, 1, 0.8695])).toBe('1.127, 1, 0.87');
    expect(parseWeights('1.1, 2; 3 4')).toEqual([1.1, 2, 3, 4]);
    expect(parseWeights('1, x')).toBeNull();
    expect(parseWeights('')).toBeNull();
  });
});

describe('share of rows truncated at a max length', () => {
  const report: TokenLengthReport = {
    maxLength: 128,
    measured: 100,
    total: 100,
    bins: [
      { from: 0, to: 64, count: 40 },
      { from: 64, to: 128, count: 40 },
      { from: 128, to: 192, count: 16 },
      { from: 192, to: null, count: 4 },
    ],
    truncatedCount: 20,
    truncatedShare: 0.2,
    mean: 90,
    p50: 80,
    p90: 150,
    p99: 230,
    max: 255,
  };
  it('is exact at the measured length', () => {
    expect(truncatedShareAt(report, 128)).toBe(0.2);
  });
  it('counts whole bins above and interpolates within one', () => {
    expect(truncatedShareAt(report, 63)).toBeCloseTo(0.6, 5);
    // 191: only the open bin (192..255) is longer.
    expect(truncatedShareAt(report, 191)).toBeCloseTo(0.04, 5);
    // Half of the 64..127 bin is above 95.
    expect(truncatedShareAt(report, 95)).toBeCloseTo((20 + 16 + 4) / 100, 5);
    expect(truncatedShareAt(report, 1000)).toBe(0);
    expect(truncatedShareAt(report, 0)).toBeCloseTo(1, 1);
  });
  it('decreases as the max length grows', () => {
    let last = 1;
    for (let n = 8; n <= 300; n += 7) {
      const v = truncatedShareAt(report, n);
      expect(v).toBeLessThanOrEqual(last + 1e-12);
      last = v;
    }
  });
});
