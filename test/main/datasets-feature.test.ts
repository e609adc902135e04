/** deleteDataset on the AppApi: deletes the prepared copy, refused while a run trains on it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agNewsSample, testApp, type TestApp } from '../helpers/app';
import { AppError } from '../../src/shared/errors';

let t: TestApp;
let tmp: string;
beforeAll(() => {
  t = testApp();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-ds-'));
});
afterAll(() => {
  t?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function prepare(rows: number) {
  const file = agNewsSample(tmp, rows);
  const inspection = await t.app.api.inspectDataset(file);
  return t.app.api.prepareDataset({ file, mapping: inspection.suggestedMapping!, split: { kind: 'ratio', evalRatio: 0.2, seed: 42 } });
}

describe('deleteDataset', () => {
  it('refuses while a run trains on the dataset, deletes it once the run has ended', async () => {
    const ds = await prepare(60);
    t.app.runs.create({ id: 'run-busy', name: 'Busy run', config: {}, datasetFingerprint: ds.id, datasetName: ds.name, status: 'running' });
    const refused = await t.app.api.deleteDataset(ds.id).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('conflict');
    expect((refused as AppError).message).toContain('Busy run');
    expect((await t.app.api.listDatasets()).map((d) => d.id)).toContain(ds.id);

    t.app.runs.setStatus('run-busy', 'completed');
    await t.app.api.deleteDataset(ds.id);
    expect((await t.app.api.listDatasets()).map((d) => d.id)).not.toContain(ds.id);
    await expect(t.app.api.getDataset(ds.id)).rejects.toBeInstanceOf(AppError);
  });

  it('says so for a dataset that does not exist', async () => {
    await expect(t.app.api.deleteDataset('0'.repeat(64))).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('prepareDataset and web uploads (issue 12.6)', () => {
  it('deletes the uploaded copy once prepared, and never a file outside <dataDir>/uploads', async () => {
    const uploads = path.join(t.app.dataDir, 'uploads');
    fs.mkdirSync(uploads, { recursive: true });
    const upload = path.join(uploads, '1796397272197-e3225d-ag.csv');
    fs.copyFileSync(agNewsSample(tmp, 60), upload);
    const inspection = await t.app.api.inspectDataset(upload);
    const ds = await t.app.api.prepareDataset({ file: upload, mapping: inspection.suggestedMapping!, split: { kind: 'ratio', evalRatio: 0.2, seed: 42 }, displayName: 'ag.csv' });
    expect(ds.trainCount + ds.evalCount).toBe(60);
    expect(fs.existsSync(upload)).toBe(false);

    const own = path.join(tmp, 'own.csv');
    fs.copyFileSync(agNewsSample(tmp, 60), own);
    const again = await t.app.api.inspectDataset(own);
    await t.app.api.prepareDataset({ file: own, mapping: again.suggestedMapping!, split: { kind: 'ratio', evalRatio: 0.2, seed: 42 } });
    expect(fs.existsSync(own)).toBe(true);
  });
});
