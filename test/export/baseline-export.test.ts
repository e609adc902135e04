/**
 * The keyword baseline as an export of a run (exportRun format 'baseline', `finetune export
 * --format baseline`): a copy of the dataset's baseline.json that `finetune predict --baseline`
 * and loadBaseline read; an earlier export is replaced, any other file is not; a dataset without
 * a baseline says how to compute it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedDataset } from '../../src/shared/dataset';
import { exportCommand } from '../../src/main/cli/export';
import { exportRun } from '../../src/main/export/index';
import { computeDatasetBaseline } from '../../src/main/engine/baseline/dataset-job';
import { loadBaseline, predictBaseline } from '../../src/main/engine/baseline';
import { preparedDatasetDir } from '../../src/main/data';
import { testApp, type TestApp } from '../helpers/app';
import { fakeRun, prepareAgNews, runConfig } from './helpers';

let t: TestApp;
let prepared: PreparedDataset;
let runId: string;

beforeAll(async () => {
  t = testApp();
  prepared = await prepareAgNews(t.dataDir, 80);
  runId = await fakeRun(t.dataDir, t.app.runs, runConfig(t.dataDir, prepared, 'bert'));
});
afterAll(() => t?.cleanup());

describe('exporting the keyword baseline', () => {
  it('without a baseline: not_found, naming the command that computes it; nothing written', async () => {
    const out = path.join(t.dataDir, 'out-none');
    await expect(exportRun(t.dataDir, runId, 'baseline', out, { runs: t.app.runs })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining(`finetune baseline ${prepared.id.slice(0, 12)}`),
    });
    expect(fs.existsSync(out)).toBe(false);
  });

  it('writes the dataset baseline to exports/, as an artifact; it loads and predicts; the CLI writes a .json path', async () => {
    await computeDatasetBaseline(t.dataDir, prepared.id);
    const original = fs.readFileSync(path.join(preparedDatasetDir(t.dataDir, prepared.id), 'baseline.json'), 'utf8');

    const r = await exportRun(t.dataDir, runId, 'baseline', undefined, { runs: t.app.runs });
    expect(r.format).toBe('baseline');
    expect(r.path).toBe(path.join(t.dataDir, 'runs', runId, 'exports', 'keyword-baseline.json'));
    expect(fs.readFileSync(r.path, 'utf8')).toBe(original);
    expect(r.bytes).toBe(Buffer.byteLength(original));
    expect((await t.app.api.getRun(runId)).artifacts.some((a) => a.path === r.path)).toBe(true);
    const model = loadBaseline(fs.readFileSync(r.path, 'utf8'));
    expect(model.labels).toEqual(prepared.labels);
    expect(predictBaseline(model, ['stocks fell as oil prices rose'])[0]).toHaveLength(prepared.labels.length);

    // Again: an earlier export is replaced without --overwrite.
    expect((await exportRun(t.dataDir, runId, 'baseline', undefined, { runs: t.app.runs })).path).toBe(r.path);

    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), isTTY: false };
    const file = path.join(t.dataDir, 'mine', 'news.json');
    expect(await exportCommand(t.app, [runId, '--format', 'baseline', '--out', file], io)).toBe(0);
    expect(lines[0]).toMatch(/^Exported the keyword baseline of run .*: .*news\.json$/);
    expect(lines[1]).toContain('finetune predict --baseline');
    expect(fs.readFileSync(file, 'utf8')).toBe(original);
  });

  it('refuses to replace a file that is not an earlier baseline export, and writes nothing into the run or dataset folders', async () => {
    const other = path.join(t.dataDir, 'notes.json');
    fs.writeFileSync(other, '{"mine": true}');
    await expect(exportRun(t.dataDir, runId, 'baseline', other, { runs: t.app.runs })).rejects.toMatchObject({ code: 'conflict' });
    expect(fs.readFileSync(other, 'utf8')).toBe('{"mine": true}');
    await expect(exportRun(t.dataDir, runId, 'baseline', path.join(preparedDatasetDir(t.dataDir, prepared.id), 'x.json'), { runs: t.app.runs })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });
});
