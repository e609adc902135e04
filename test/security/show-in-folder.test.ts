/**
 * Issue 12.10: showInFolder only passes the data folder and paths the app wrote to the shell;
 * training options refuse unknown keys; estimateTraining refuses class weights of the wrong
 * length by field; the packaging config sets the Electron fuses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { dispatch } from '../../src/main/dispatch';
import { classWeightsProblem, RECOMMENDED_OPTIONS, runConfigSchema, trainingOptionsSchema } from '../../src/shared/run-config';
import { parseArgs } from '../../src/shared/schema';
import { fakeLauncher } from '../helpers/fake-worker';
import { prepareAgNews } from '../export/helpers';
import { REPO_DIR } from '../helpers/app';

let dataDir: string;
let outside: string;
let app: App;
const shown: string[] = [];

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-show-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-outside-'));
  app = createApp({
    dataDir,
    host: 'electron',
    launcher: fakeLauncher().launcher,
    workerEntry: 'unused.js',
    capabilities: { showInFolder: async (p) => void shown.push(p) },
  });
});
afterAll(() => {
  app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('showInFolder', () => {
  it('shows the data folder and anything inside it', async () => {
    shown.length = 0;
    await app.api.showInFolder(dataDir);
    await app.api.showInFolder(path.join(dataDir, 'runs', 'x', 'model'));
    expect(shown).toEqual([dataDir, path.join(dataDir, 'runs', 'x', 'model')]);
  });

  it('shows an export the app wrote outside the data folder (a recorded artifact), and files inside it', async () => {
    app.runs.create({ id: 'r1', name: 'r1', config: {} });
    const exported = path.join(outside, 'my-model');
    app.runs.addArtifact('r1', 'export', exported);
    shown.length = 0;
    await app.api.showInFolder(exported);
    await app.api.showInFolder(path.join(exported, 'config.json'));
    expect(shown).toEqual([exported, path.join(exported, 'config.json')]);
  });

  it.each([
    () => '/etc/passwd',
    () => path.join(os.homedir(), '.ssh', 'id_rsa'),
    () => path.join(outside, 'not-written-by-the-app.exe'),
    () => path.join(dataDir, '..', path.basename(outside), 'x'),
    () => 'relative/path',
    () => `${dataDir}-sibling`,
  ])('refuses a path the app did not write (%#) without calling the shell', async (target) => {
    shown.length = 0;
    const r = await dispatch(app.api, 'showInFolder', [target()]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'invalid_input', field: 'path' });
    expect(shown).toEqual([]);
  });

  it('refuses a symbolic link inside the data folder that points outside it', async () => {
    const link = path.join(dataDir, 'link-out');
    fs.symlinkSync(outside, link);
    shown.length = 0;
    const r = await dispatch(app.api, 'showInFolder', [link]);
    expect(r.ok).toBe(false);
    expect(shown).toEqual([]);
  });
});

describe('strict training options', () => {
  it('refuse an unknown key, naming it', () => {
    const r = trainingOptionsSchema.safeParse({ ...RECOMMENDED_OPTIONS, learningrate: 1 });
    expect(r.success).toBe(false);
    if (!r.success) expect(JSON.stringify(r.error.issues)).toContain('learningrate');
    expect(() => parseArgs('startRun', [{ model: 'bert-base-uncased', datasetId: 'a'.repeat(64), options: { ...RECOMMENDED_OPTIONS, foo: 1 } }])).toThrow(/foo/);
    expect(trainingOptionsSchema.safeParse(RECOMMENDED_OPTIONS).success).toBe(true);
  });

  it('class weights of the wrong length are refused by field, in the run settings and in estimateTraining', async () => {
    expect(classWeightsProblem([1, 2], 4)).toMatch(/options\.classWeights has 2 weights; give one class weight per label \(4\)/);
    expect(classWeightsProblem(null, 4)).toBeNull();
    expect(classWeightsProblem([1, 1, 1, 1], 4)).toBeNull();
    const config = { name: 'x', model: { source: 'm', path: '/m' }, labels: ['a', 'b', 'c'], dataset: { fingerprint: 'f', name: 'n', trainCount: 1, evalCount: 0, path: null }, options: { ...RECOMMENDED_OPTIONS, classWeights: [1] } };
    const parsed = runConfigSchema.safeParse(config);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues[0]!.path.join('.')).toBe('options.classWeights');

    const prepared = await prepareAgNews(dataDir, 40);
    const r = await dispatch(app.api, 'estimateTraining', [{ model: 'bert-base-uncased', datasetId: prepared.id, options: { ...RECOMMENDED_OPTIONS, classWeights: [1, 2] } }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'invalid_input', field: 'options.classWeights', message: expect.stringContaining(`per label (${prepared.labels.length})`) });
  });
});

describe('Electron fuses', () => {
  it('the packaging config turns off RunAsNode, NODE_OPTIONS and --inspect, and turns on asar integrity, asar-only loading and cookie encryption', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'package.json'), 'utf8')) as { build: { electronFuses: Record<string, boolean> } };
    expect(pkg.build.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });
});
