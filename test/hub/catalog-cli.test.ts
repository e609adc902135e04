import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/main/hf/safetensors';
import { modelsCommand } from '../../src/main/cli/models';
import { encoderParameters, listCatalogModels, relativeCost, type Architecture } from '../../src/main/hub/catalog';
import type { CatalogModel, ImportReport } from '../../src/shared/models';
import { FAMILIES, fixtureDir, type Family } from '../helpers/reference';
import { FakeHub, type FakeFile } from './helpers/fake-hub';

const HUB_FIXTURES = path.resolve(__dirname, '../fixtures/hub');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubcli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('catalog', () => {
  const models = listCatalogModels({ cacheDir: path.join(tmp, 'empty-cache') });
  const byId = new Map(models.map((m) => [m.id, m]));

  it('lists the seven models of the issue', () => {
    expect(models.map((m) => m.id)).toEqual([
      'bert-base-uncased',
      'roberta-base',
      'distilbert-base-uncased',
      'albert-base-v2',
      'google/bert_uncased_L-2_H-128_A-2',
      'google/bert_uncased_L-4_H-256_A-4',
      'google/bert_uncased_L-4_H-512_A-8',
    ]);
    expect(models.every((m) => !m.cached && m.localPath === null)).toBe(true);
  });

  it('counts parameters as the published base models have them', () => {
    expect(byId.get('bert-base-uncased')!.parameters).toBe(109_482_240);
    expect(byId.get('roberta-base')!.parameters).toBe(124_645_632);
    expect(byId.get('distilbert-base-uncased')!.parameters).toBe(66_362_880);
    expect(byId.get('albert-base-v2')!.parameters).toBe(11_683_584);
    expect(byId.get('google/bert_uncased_L-2_H-128_A-2')!.parameters).toBe(4_385_920);
    expect(byId.get('google/bert_uncased_L-4_H-256_A-4')!.parameters).toBe(11_170_560);
    expect(byId.get('google/bert_uncased_L-4_H-512_A-8')!.parameters).toBe(28_763_648);
  });

  it.each(FAMILIES)('the parameter formula equals the tensors of the %s fixture checkpoint', (family: Family) => {
    const c = JSON.parse(fs.readFileSync(path.join(fixtureDir(family), 'config.json'), 'utf8')) as Record<string, number>;
    const distil = family === 'distilbert';
    const arch: Architecture = {
      family,
      layers: distil ? c.n_layers! : c.num_hidden_layers!,
      hidden: distil ? c.dim! : c.hidden_size!,
      intermediate: distil ? c.hidden_dim! : c.intermediate_size!,
      heads: distil ? c.n_heads! : c.num_attention_heads!,
      vocab: c.vocab_size!,
      positions: c.max_position_embeddings!,
      typeVocab: distil ? 0 : c.type_vocab_size!,
      ...(family === 'albert' ? { embedding: c.embedding_size!, sharedLayers: true } : {}),
    };
    const weights = readSafetensors(path.join(fixtureDir(family), 'model.safetensors'));
    let counted = 0;
    for (const [name, t] of weights) {
      if (/^(classifier|pre_classifier)\./.test(name) || name.endsWith('position_ids')) continue;
      counted += t.data.length;
    }
    // RobertaForSequenceClassification has no pooler; the count includes the base model's.
    const pooler = family === 'roberta' ? arch.hidden * arch.hidden + arch.hidden : 0;
    expect(encoderParameters(arch) - pooler).toBe(counted);
  });

  it('gives a relative training cost from the architecture', () => {
    expect(byId.get('bert-base-uncased')!.relativeCost).toBe(1);
    expect(byId.get('roberta-base')!.relativeCost).toBe(1);
    expect(byId.get('distilbert-base-uncased')!.relativeCost).toBe(0.5);
    expect(byId.get('albert-base-v2')!.relativeCost).toBeCloseTo(1, 2);
    const small = ['google/bert_uncased_L-2_H-128_A-2', 'google/bert_uncased_L-4_H-256_A-4', 'google/bert_uncased_L-4_H-512_A-8'].map((id) => byId.get(id)!.relativeCost);
    expect(small[0]!).toBeLessThan(small[1]!);
    expect(small[1]!).toBeLessThan(small[2]!);
    expect(small[2]!).toBeLessThan(0.2);
    expect(relativeCost({ family: 'bert', layers: 24, hidden: 1024, intermediate: 4096, heads: 16, vocab: 30522, positions: 512, typeVocab: 2 })).toBeGreaterThan(3);
  });

  it('quotes AG News accuracy only with the model card that reports it', () => {
    for (const m of models) {
      if (m.id.startsWith('google/')) expect(m.agNewsAccuracy).toBeNull();
      else {
        expect(m.agNewsAccuracy!.value).toBeGreaterThan(0.93);
        expect(m.agNewsAccuracy!.value).toBeLessThan(0.96);
        expect(m.agNewsAccuracy!.source).toMatch(/^https:\/\/huggingface\.co\/textattack\/.*-ag-news$/);
      }
    }
  });

  it('marks a model cached when a complete snapshot is in the cache', () => {
    const cacheDir = path.join(tmp, 'cache-with-tiny');
    const repo = path.join(cacheDir, 'models--google--bert_uncased_L-2_H-128_A-2');
    const commit = 'e'.repeat(40);
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
    const snap = path.join(repo, 'snapshots', commit);
    fs.mkdirSync(snap, { recursive: true });
    for (const f of ['config.json', 'vocab.txt']) fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt', f), path.join(snap, f));
    expect(listCatalogModels({ cacheDir }).find((m) => m.id === 'google/bert_uncased_L-2_H-128_A-2')!.cached).toBe(false); // no weights yet
    fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt', 'pytorch_model.bin'), path.join(snap, 'pytorch_model.bin'));
    const entry = listCatalogModels({ cacheDir }).find((m) => m.id === 'google/bert_uncased_L-2_H-128_A-2')!;
    expect(entry.cached).toBe(true);
    expect(entry.localPath).toBe(snap);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

function fakeIo(isTTY = false): { io: Parameters<typeof modelsCommand>[1]; out: string[]; err: string[]; written: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const written: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), isTTY, write: (s) => written.push(s) }, out, err, written };
}

describe('finetune models', () => {
  const hub = new FakeHub();
  const saved = { ...process.env };
  beforeAll(async () => {
    const files: FakeFile[] = ['config.json', 'tokenizer.json', 'vocab.txt', 'model.safetensors'].map((f) => ({ path: f, content: fs.readFileSync(path.join(fixtureDir('bert'), f)), lfs: f.endsWith('.safetensors') }));
    hub.addRepo({ id: 'test-org/tiny-bert', commit: 'f'.repeat(40), files });
    await hub.start();
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = path.join(tmp, 'cli-cache');
    process.env.HF_HOME = path.join(tmp, 'cli-home');
    delete process.env.HF_TOKEN;
  });
  afterEach(() => {
    hub.requests.length = 0;
  });
  afterAll(async () => {
    await hub.close();
    for (const k of ['HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HOME', 'HF_TOKEN']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('list: a table with the cache folder, and --json', async () => {
    const t = fakeIo();
    expect(await modelsCommand(['list'], t.io)).toBe(0);
    expect(t.out[0]).toBe(`Hugging Face cache: ${path.join(tmp, 'cli-cache')}`);
    expect(t.out[1]).toMatch(/^MODEL\s+PARAMS\s+DOWNLOAD\s+COST\s+AG NEWS\s+CACHED/);
    expect(t.out.find((l) => l.startsWith('bert-base-uncased'))).toMatch(/109\.5M\s+441 MB\s+1\.00\s+95\.1%\s+no/);
    expect(t.out.find((l) => l.startsWith('google/bert_uncased_L-2_H-128_A-2'))).toMatch(/not reported/);
    const j = fakeIo();
    expect(await modelsCommand(['list', '--json'], j.io)).toBe(0);
    const parsed = JSON.parse(j.out.join('\n')) as { models: CatalogModel[]; cacheDir: string };
    expect(parsed.models).toHaveLength(7);
  });

  it('download: plain progress lines off a TTY, honouring HF_ENDPOINT and HF_HUB_CACHE', async () => {
    const t = fakeIo(false);
    expect(await modelsCommand(['download', 'test-org/tiny-bert'], t.io)).toBe(0);
    expect(t.out[0]).toBe(`Downloading test-org/tiny-bert into ${path.join(tmp, 'cli-cache')}`);
    expect(t.out.some((l) => /^\d+% .* 1?\d\/4 files model\.safetensors$/.test(l))).toBe(true);
    expect(t.out.at(-2)).toMatch(/^test-org\/tiny-bert at commit ffffffffffff is ready: .*models--test-org--tiny-bert\/snapshots\/f{40}$/);
    expect(t.written).toEqual([]);
    expect(hub.requests.length).toBeGreaterThan(0);
    const list = fakeIo();
    await modelsCommand(['list'], list.io);
    expect(list.out).toContain('Also in the cache:');
  });

  it('download: a progress bar on a TTY', async () => {
    fs.rmSync(path.join(tmp, 'cli-cache'), { recursive: true, force: true });
    const t = fakeIo(true);
    expect(await modelsCommand(['download', 'test-org/tiny-bert', '--revision', 'main'], t.io)).toBe(0);
    expect(t.written.some((s) => /^\r\[[#-]{24}\] \d+% /.test(s))).toBe(true);
    expect(t.written.at(-1)).toBe('\n');
  });

  it('download: usage errors exit 2, failures exit 1 with the reason', async () => {
    let t = fakeIo();
    expect(await modelsCommand(['download'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/download needs exactly one model id/);
    t = fakeIo();
    expect(await modelsCommand(['download', 'bad id!'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/REPO: a Hub model id looks like/);
    t = fakeIo();
    expect(await modelsCommand(['download', 'x/y', '--revision'], t.io)).toBe(2);
    t = fakeIo();
    expect(await modelsCommand(['download', 'x/y', '--force'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/unknown option --force/);
    t = fakeIo();
    expect(await modelsCommand(['download', 'test-org/missing'], t.io)).toBe(1);
    expect(t.err[0]).toMatch(/^finetune models download: no model "test-org\/missing" on http:\/\/127\.0\.0\.1/);
    t = fakeIo();
    expect(await modelsCommand(['frobnicate'], t.io)).toBe(2);
    expect(await modelsCommand([], fakeIo().io)).toBe(2);
  });

  it('import: the report, and exit 1 when the folder cannot be used', async () => {
    let t = fakeIo();
    expect(await modelsCommand(['import', path.join(HUB_FIXTURES, 'bert-pt')], t.io)).toBe(0);
    expect(t.out[0]).toMatch(/bert-pt: ready to train$/);
    expect(t.out[1]).toBe('  family: bert; weights: pytorch-bin; tokenizer: vocab.txt');
    t = fakeIo();
    expect(await modelsCommand(['import', path.join(tmp, 'nothing-here'), '--json'], t.io)).toBe(1);
    const report = JSON.parse(t.out.join('\n')) as ImportReport;
    expect(report.ok).toBe(false);
    expect(report.missing[0]).toMatch(/no such folder/);
  });
});
