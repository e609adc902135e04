import { describe, expect, it } from 'vitest';
import { ownedElsewhereReason, ownerElsewhere } from '../../src/renderer/src/lib/run-owner';

describe('run ownership in words (issue 12.1)', () => {
  it('names the other process that trains a run', () => {
    const run = { owner: { pid: 1234, host: 'cli' as const, startedAt: 0 }, ownedHere: false };
    expect(ownerElsewhere(run)).toBe('Training in another window (finetune train, pid 1234)');
    expect(ownedElsewhereReason(run, 'delete')).toBe('Training in another window (finetune train, pid 1234). Wait for it to finish there; this window cannot delete it.');
    expect(ownerElsewhere({ owner: { pid: 7, host: 'web', startedAt: 0 }, ownedHere: false })).toBe('Training in another window (the browser app, pid 7)');
  });

  it('says nothing for a run this window trains or nobody trains', () => {
    expect(ownerElsewhere({ owner: { pid: 1, host: 'electron', startedAt: 0 }, ownedHere: true })).toBeNull();
    expect(ownerElsewhere({ owner: null, ownedHere: false })).toBeNull();
    expect(ownedElsewhereReason({ owner: null, ownedHere: false }, 'resume')).toBeNull();
  });
});
