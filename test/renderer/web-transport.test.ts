/**
 * The web client sends arguments as a JSON array, where an optional argument left out in the
 * middle (inspectDataset(file, undefined, taskId)) arrives as null: the schema takes it as absent.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/shared/schema';
import { AppError } from '../../src/shared/errors';

const json = (args: unknown[]) => JSON.parse(JSON.stringify(args)) as unknown[];

describe('arguments over JSON', () => {
  it('an optional argument left out before a task id is absent, not invalid', () => {
    expect(parseArgs('inspectDataset', json(['/data/a.csv', undefined, 'task-1']))).toEqual(['/data/a.csv', undefined, 'task-1']);
    expect(parseArgs('exportRun', json(['20260101-000000-abcdef', 'hf', undefined, 'task-2']))).toEqual(['20260101-000000-abcdef', 'hf', undefined, 'task-2']);
    expect(parseArgs('downloadModel', json(['bert-base-uncased', undefined, 'task-3']))).toEqual(['bert-base-uncased', undefined, 'task-3']);
  });
  it('null is still refused for a required argument', () => {
    expect(() => parseArgs('getRun', [null])).toThrow(AppError);
    expect(() => parseArgs('inspectDataset', [null, null, 'task-1'])).toThrow(/file/);
  });
});
