import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCachedSnapshot, listCachedModels } from '../../src/main/hub/cache';
import { inspectModelFolder } from '../../src/main/hf/inspect';
import { resolveModel, type ResolveOptions } from '../../src/main/hub/resolve';
import { AppError } from '../../src/shared/errors';
import { FAMILIES, fixtureDir } from '../helpers/reference';
import { FakeHub, gitBlobSha1, sha256, type FakeFile } from './helpers/fake-hub';
import { writeStoredZip } from './helpers/zip-writer';

const HUB_FIXTURES = path.resolve(__dirname, '../fixtures/hub');
const COMMIT = 'c'.repeat(40);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubres-'));
const hub = new FakeHub();

beforeAll(async () => {
  const files: FakeFile[] = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'model.safetensors'].map((f) => ({
    path: f,
    content: fs.readFileSync(path.join(fixtureDir('bert'), f)),
    lfs: f.endsWith('.safetensors'),
  }));
  hub.addRepo({ id: 'test-org/tiny-bert', commit: COMMIT, files });
  await hub.start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

function copyDir(from: string, to: string, skip: string[] = []): string {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) if (!skip.includes(f)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

describe('resolveModel', () => {
  const cacheDir = path.join(tmp, 'cache');
  const base = (extra: ResolveOptions = {}): ResolveOptions => ({ hubUrl: hub.url, cacheDir, env: { HF_HOME: path.join(tmp, 'home') }, download: { retries: 0, retryDelayMs: 0 }, ...extra });

  it('passes a model folder through after checking it', async () => {
    const r = await resolveModel(fixtureDir('bert'), base());
    expect(r).toEqual({ dir: fixtureDir('bert'), id: fixtureDir('bert'), revision: null, fromCache: true, note: null });
    const broken = copyDir(fixtureDir('bert'), path.join(tmp, 'no-weights'), ['model.safetensors', 'golden_grads.safetensors', 'golden_params_after.safetensors']);
    const err = await failure(resolveModel(broken, base()));
    expect(err.message).toMatch(/cannot be used as a model: weights: none of model\.safetensors/);
    expect((await failure(resolveModel('./does-not-exist', base()))).code).toBe('not_found');
    expect((await failure(resolveModel('not a valid id!', base()))).code).toBe('invalid_input');
  });

  it('downloads a Hub id once, then serves it from the cache', async () => {
    const first = await resolveModel('test-org/tiny-bert', base());
    expect(first).toMatchObject({ id: 'test-org/tiny-bert', revision: COMMIT, fromCache: false });
    const second = await resolveModel('test-org/tiny-bert', base());
    expect(second).toMatchObject({ dir: first.dir, fromCache: true });
  });

  it('offline: the cached snapshot, or a message that says what to do', async () => {
    const r = await resolveModel('test-org/tiny-bert', base({ offline: true, hubUrl: 'http://127.0.0.1:9' }));
    expect(r.revision).toBe(COMMIT);
    expect(r.note).toMatch(/offline/);
    const err = await failure(resolveModel('roberta-base', base({ env: { HF_HUB_OFFLINE: '1', HF_HOME: path.join(tmp, 'home') } })));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/roberta-base is not in the Hugging Face cache \(.*\) and the app is offline\. Connect and run "finetune models download roberta-base"/);
  });

  it('falls back to the cache when the Hub cannot be reached, and says so', async () => {
    const r = await resolveModel('test-org/tiny-bert', base({ hubUrl: 'http://127.0.0.1:9' }));
    expect(r.fromCache).toBe(true);
    expect(r.note).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9.*using the cached snapshot cccccccc/);
    const err = await failure(resolveModel('test-org/other', base({ hubUrl: 'http://127.0.0.1:9' })));
    expect(err.code).toBe('network');
  });

  it('uses a cache written by Python huggingface_hub (relative symlinks, refs/main)', async () => {
    const pyCache = path.join(tmp, 'py-cache');
    const repoDir = path.join(pyCache, 'models--google--bert_uncased_L-2_H-128_A-2');
    const commit = 'd'.repeat(40);
    fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'snapshots', commit), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit); // Python writes no newline
    for (const f of ['config.json', 'vocab.txt', 'pytorch_model.bin']) {
      const content = fs.readFileSync(path.join(HUB_FIXTURES, 'bert-pt', f));
      const etag = f.endsWith('.bin') ? sha256(content) : gitBlobSha1(content);
      fs.writeFileSync(path.join(repoDir, 'blobs', etag), content);
      fs.symlinkSync(path.join('..', '..', 'blobs', etag), path.join(repoDir, 'snapshots', commit, f));
    }
    expect(findCachedSnapshot(pyCache, 'google/bert_uncased_L-2_H-128_A-2')?.commit).toBe(commit);
    const r = await resolveModel('google/bert_uncased_L-2_H-128_A-2', base({ cacheDir: pyCache, offline: true }));
    expect(r.dir).toBe(path.join(repoDir, 'snapshots', commit));
    expect(listCachedModels(pyCache)).toEqual([
      { repo: 'google/bert_uncased_L-2_H-128_A-2', sizeBytes: expect.any(Number), revisions: [{ commit, refs: ['main'], dir: r.dir, sizeBytes: expect.any(Number), complete: true }] },
    ]);
  });
});

describe('inspectModelFolder', () => {
  it.each(FAMILIES)('the %s reference fixture is ready to train', async (family) => {
    const report = await inspectModelFolder(fixtureDir(family));
    expect(report).toMatchObject({ ok: true, family, weightsFormat: 'safetensors', tokenizerSource: 'tokenizer.json', missing: [], unsupported: [] });
    expect(report.labels).toEqual(['World', 'Sports', 'Business', 'Sci-Tech']);
  });

  it('a small Google BERT folder: pytorch_model.bin and vocab.txt, with notes on the tokenizer', async () => {
    const report = await inspectModelFolder(path.join(HUB_FIXTURES, 'bert-pt'));
    expect(report).toMatchObject({ ok: true, weightsFormat: 'pytorch-bin', tokenizerSource: 'vocab.txt', weightFiles: ['pytorch_model.bin'] });
    expect(report.warnings.join('\n')).toMatch(/built from vocab\.txt/);
    expect(report.warnings.join('\n')).toMatch(/do_lower_case/);
    const sharded = await inspectModelFolder(path.join(HUB_FIXTURES, 'bert-pt-sharded'));
    expect(sharded.weightsFormat).toBe('sharded-pytorch-bin');
    expect(sharded.missing).toEqual(['tokenizer: none of tokenizer.json, vocab.txt, vocab.json + merges.txt or spiece.model; copy the tokenizer files of the base model']);
  });

  it('names what is missing: config, weights, shards, tokenizer, LFS pointers', async () => {
    expect((await inspectModelFolder(path.join(tmp, 'nowhere'))).missing[0]).toMatch(/no such folder/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const r = await inspectModelFolder(empty);
    expect(r.ok).toBe(false);
    expect(r.missing.join('\n')).toMatch(/config\.json: not found/);
    expect(r.missing.join('\n')).toMatch(/weights: none of/);
    expect(r.missing.join('\n')).toMatch(/tokenizer: none of/);

    const pointer = copyDir(path.join(HUB_FIXTURES, 'bert-pt'), path.join(tmp, 'pointer'));
    fs.writeFileSync(path.join(pointer, 'pytorch_model.bin'), 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n');
    expect((await inspectModelFolder(pointer)).missing).toEqual(['pytorch_model.bin is a Git LFS pointer, not the weights: run "git lfs pull" in the folder']);

    const shard = copyDir(path.join(HUB_FIXTURES, 'bert-pt-sharded'), path.join(tmp, 'shard'), ['pytorch_model-00002-of-00002.bin']);
    fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt/vocab.txt'), path.join(shard, 'vocab.txt'));
    expect((await inspectModelFolder(shard)).missing).toEqual(['pytorch_model-00002-of-00002.bin: listed in pytorch_model.bin.index.json but not in the folder; copy it or download the model again']);

    const truncated = copyDir(fixtureDir('bert'), path.join(tmp, 'truncated'));
    fs.truncateSync(path.join(truncated, 'model.safetensors'), 50_000);
    expect((await inspectModelFolder(truncated)).missing.join('\n')).toMatch(/model\.safetensors is truncated/);
  });

  it('names what is unsupported: the architecture, TF-only weights, a foreign tokenizer, a malicious pickle', async () => {
    const gpt = copyDir(fixtureDir('bert'), path.join(tmp, 'gpt2'));
    fs.writeFileSync(path.join(gpt, 'config.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: 572 }));
    expect((await inspectModelFolder(gpt)).unsupported.join('\n')).toMatch(/model_type "gpt2" is not supported; this app trains bert, roberta, distilbert, albert/);

    const relative = copyDir(fixtureDir('bert'), path.join(tmp, 'relative'));
    const cfg = JSON.parse(fs.readFileSync(path.join(relative, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(relative, 'config.json'), JSON.stringify({ ...cfg, position_embedding_type: 'relative_key' }));
    expect((await inspectModelFolder(relative)).unsupported.join('\n')).toMatch(/position_embedding_type "relative_key" is not supported/);

    const small = copyDir(fixtureDir('bert'), path.join(tmp, 'small-vocab'));
    fs.writeFileSync(path.join(small, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 300 }));
    expect((await inspectModelFolder(small)).unsupported.join('\n')).toMatch(/the tokenizer has ids up to 571 but config\.json's vocab_size is 300/);

    const tf = path.join(tmp, 'tf');
    fs.mkdirSync(tf);
    fs.copyFileSync(path.join(fixtureDir('bert'), 'config.json'), path.join(tf, 'config.json'));
    fs.copyFileSync(path.join(fixtureDir('bert'), 'tokenizer.json'), path.join(tf, 'tokenizer.json'));
    fs.writeFileSync(path.join(tf, 'tf_model.h5'), 'x');
    expect((await inspectModelFolder(tf)).unsupported.join('\n')).toMatch(/tf_model\.h5 \(TensorFlow weights\) is not read: convert it/);

    const evil = copyDir(path.join(HUB_FIXTURES, 'bert-pt'), path.join(tmp, 'evil'));
    const payload = Buffer.concat([Buffer.from('\x80\x02cposix\nsystem\n', 'latin1'), Buffer.from([0x58, 4, 0, 0, 0]), Buffer.from('true'), Buffer.from([0x85, 0x52, 0x2e])]);
    fs.writeFileSync(path.join(evil, 'pytorch_model.bin'), writeStoredZip([{ name: 'archive/data.pkl', data: payload }]));
    const report = await inspectModelFolder(evil);
    expect(report.ok).toBe(false);
    expect(report.unsupported.join('\n')).toMatch(/refused to load: the pickle imports posix\.system/);
  });
});
