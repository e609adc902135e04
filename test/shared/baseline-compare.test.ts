import { describe, expect, it } from 'vitest';
import { compareWithBaseline } from '../../src/shared/baseline';

describe('a run against the keyword baseline', () => {
  it('says so in plain words when the keyword model wins, with what to do', () => {
    const c = compareWithBaseline(0.792, 0.831);
    expect(c.verdict).toBe('baseline-wins');
    expect(c.headline).toBe('Your model 79.2 % vs keyword baseline 83.1 %');
    expect(c.advice).toContain('3.9 points');
    expect(c.advice).toMatch(/more epochs/);
    expect(c.difference).toBeCloseTo(-0.039, 10);
  });
  it('a winning run and a level one', () => {
    expect(compareWithBaseline(0.95, 0.88)).toMatchObject({ verdict: 'model-wins' });
    expect(compareWithBaseline(0.95, 0.88).advice).toContain('7.0 points');
    expect(compareWithBaseline(0.881, 0.88).verdict).toBe('level');
    expect(compareWithBaseline(0.876, 0.88).verdict).toBe('level');
  });
});
