import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatClock,
  formatCount,
  formatDelta,
  formatDuration,
  formatLoss,
  formatMetric,
  formatParams,
  formatPercent,
  formatProbability,
  formatRate,
  formatSpeed,
  runDuration,
  shortHash,
} from '../../src/renderer/src/lib/format';

describe('formatting for people', () => {
  it('durations and clocks', () => {
    expect(formatDuration(5.4)).toBe('5s');
    expect(formatDuration(75)).toBe('1m 15s');
    expect(formatDuration(3 * 3600 + 65)).toBe('3h 01m');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
    expect(formatClock(65)).toBe('1:05');
    expect(formatClock(3661)).toBe('1:01:01');
    expect(formatClock(null)).toBe('—');
    expect(runDuration(1000, 4000)).toBe(3);
    expect(runDuration(1000, null, 2000)).toBe(1);
    expect(runDuration(null, 5)).toBeNull();
  });
  it('numbers', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
    expect(formatPercent(0.9431)).toBe('94.3 %');
    expect(formatMetric('eval_loss', 0.123456)).toBe('0.1235');
    expect(formatMetric('accuracy', 0.5)).toBe('50.0 %');
    expect(formatProbability(0.0004)).toBe('< 0.1 %');
    expect(formatProbability(0.25)).toBe('25.0 %');
    expect(formatLoss(1.23456)).toBe('1.235');
    expect(formatBytes(440_699_000)).toBe('441 MB');
    expect(formatBytes(1500)).toBe('1.5 KB');
    expect(formatParams(109_482_240)).toBe('109M');
    expect(formatParams(4_385_920)).toBe('4.4M');
    expect(formatSpeed(12.34)).toBe('12.3 samples/s');
    expect(formatSpeed(1234.5)).toBe('1235 samples/s');
    expect(shortHash('0123456789abcdef')).toBe('0123456789');
  });
  it('learning rates as people write them', () => {
    expect(formatRate(2e-5)).toBe('2e-5');
    expect(formatRate(4.75e-5)).toBe('4.75e-5');
    expect(formatRate(0.001)).toBe('0.001');
    expect(formatRate(0)).toBe('0');
  });
  it('signed deltas in percentage points', () => {
    expect(formatDelta(0.012)).toBe('+1.2 pt');
    expect(formatDelta(-0.004)).toBe('−0.4 pt');
    expect(formatDelta(0.0001)).toBe('±0.0 pt');
    expect(formatDelta(null)).toBe('—');
  });
});
