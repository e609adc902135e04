import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/main/engine/tokenizer';
import { blobPath, findCachedSnapshot, hubCacheDir, listCachedModels, readRef, snapshotDir } from '../../src/main/hub/cache';
import { downloadModel, hubConnection, type DownloadOptions } from '../../src/main/hub/download';
import { readModelWeights } from '../../src/main/hf/weights';
import { AppError } from '../../src/shared/errors';
import type { DownloadProgress } from '../../src/shared/models';
import { fixtureDir } from '../helpers/reference';
import { FakeHub, gitBlobSha1, GOOD_TOKEN, sha256, type FakeFile } from './helpers/fake-hub';

const HUB_FIXTURES = path.resolve(__dirname, '../fixtures/hub');
const COMMIT = 'a'.repeat(40);
const COMMIT2 = 'b'.repeat(40);

function filesOf(dir: string, names: string[], lfs: string[]): FakeFile[] {
  return names.map((n) => ({ path: n, content: fs.readFileSync(path.join(dir, n)), lfs: lfs.includes(n) }));
}

const hub = new FakeHub();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubdl-'));
let cacheDir: string;
let n = 0;

const bertFiles = (): FakeFile[] => [
  ...filesOf(fixtureDir('bert'), ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'], []),
  ...filesOf(fixtureDir('bert'), ['model.safetensors'], ['model.safetensors']),
  { path: '.gitattributes', content: Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n') },
  { path: 'README.md', content: Buffer.from('# tiny bert\n') },
  { path: 'tf_model.h5', content: Buffer.alloc(5000, 7), lfs: true },
  { path: 'onnx/model.onnx', content: Buffer.alloc(3000, 9), lfs: true },
];

beforeAll(async () => {
  hub.addRepo({ id: 'test-org/tiny-bert', commit: COMMIT, files: bertFiles(), refs: { v1: COMMIT } });
  hub.addRepo({ id: 'test-org/gated-bert', commit: COMMIT, files: bertFiles(), gated: true });
  hub.addRepo({ id: 'test-org/private-bert', commit: COMMIT, files: bertFiles(), private: true });
  hub.addRepo({
    id: 'google/tiny-pt-bert',
    commit: COMMIT2,
    files: filesOf(path.join(HUB_FIXTURES, 'bert-pt'), ['config.json', 'vocab.txt', 'pytorch_model.bin'], ['pytorch_model.bin']),
  });
  hub.addRepo({
    id: 'test-org/sharded-bert',
    commit: COMMIT,
    files: [
      ...filesOf(path.join(HUB_FIXTURES, 'bert-pt-sharded'), ['config.json', 'pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'], ['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']),
      ...filesOf(path.join(HUB_FIXTURES, 'bert-pt'), ['vocab.txt'], []),
    ],
  });
  hub.addRepo({ id: 'test-org/tf-only', commit: COMMIT, files: [{ path: 'config.json', content: Buffer.from('{"model_type":"bert"}') }, { path: 'tf_model.h5', content: Buffer.alloc(100), lfs: true }] });
  await hub.start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = path.join(tmp, `cache-${++n}`);
  hub.clearFaults();
  hub.requests.length = 0;
});

function opts(extra: DownloadOptions = {}): DownloadOptions {
  // env: no HF_TOKEN and no token file of this machine leak in.
  return { hubUrl: hub.url, cacheDir, env: { HF_HOME: path.join(tmp, 'hf-home') }, retries: 0, retryDelayMs: 0, stallTimeoutMs: 3000, progressIntervalMs: 0, ...extra };
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** Every file under snapshots/ is complete: its bytes hash to the Hub's listing for that path. */
function expectSnapshotsConsistent(repo: string): void {
  const r = hub.repos.get(repo)!;
  const snaps = path.join(cacheDir, `models--${repo.replace('/', '--')}`, 'snapshots');
  if (!fs.existsSync(snaps)) return;
  for (const commit of fs.readdirSync(snaps)) {
    const walk = (dir: string, rel: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const relPath = rel ? `${rel}/${e.name}` : e.name;
        expect(e.name.startsWith('.'), `temporary file left in the snapshot: ${relPath}`).toBe(false);
        if (fs.statSync(p).isDirectory()) walk(p, relPath);
        else {
          const file = r.files.find((f) => f.path === relPath)!;
          expect(file, relPath).toBeDefined();
          expect(createHash('sha256').update(fs.readFileSync(p)).digest('hex'), relPath).toBe(sha256(file.content));
        }
      }
    };
    walk(path.join(snaps, commit), '');
  }
}

describe('downloadModel', () => {
  it('fills the Hub cache layout with the files training needs, through the CDN redirect', async () => {
    const events: DownloadProgress[] = [];
    const result = await downloadModel('test-org/tiny-bert', opts({ onProgress: (p) => events.push(p) }));
    expect(result.commit).toBe(COMMIT);
    expect(result.dir).toBe(snapshotDir(cacheDir, 'test-org/tiny-bert', COMMIT));
    expect(result.weightsFormat).toBe('safetensors');
    expect(result.files.sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    // Not the TensorFlow / ONNX copies.
    expect(fs.existsSync(path.join(result.dir, 'tf_model.h5'))).toBe(false);
    expect(hub.requests.some((r) => r.url.includes('tf_model.h5') || r.url.includes('onnx'))).toBe(false);

    // blobs/ named by sha256 (LFS) and git sha1 (small files); snapshot entries are relative symlinks.
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    const config = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'config.json')!;
    expect(fs.existsSync(blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content)))).toBe(true);
    expect(fs.existsSync(blobPath(cacheDir, 'test-org/tiny-bert', gitBlobSha1(config.content)))).toBe(true);
    const link = fs.readlinkSync(path.join(result.dir, 'model.safetensors'));
    expect(link).toBe(path.join('..', '..', 'blobs', sha256(model.content)));
    expect(readRef(cacheDir, 'test-org/tiny-bert', 'main')).toBe(COMMIT);
    expectSnapshotsConsistent('test-org/tiny-bert');

    // The LFS bytes came from the CDN origin, without the Authorization header.
    expect(hub.requests.filter((r) => r.origin === 'cdn').length).toBeGreaterThan(0);

    // The folder loads: weights and tokenizer.
    expect(readModelWeights(result.dir).weights.size).toBeGreaterThan(10);
    expect((await loadTokenizer(result.dir)).vocabSize).toBe(572);

    // Progress: bytes only grow, end at the total with every file done.
    const total = result.files.reduce((a, f) => a + fs.statSync(path.join(result.dir, f)).size, 0);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ phase: 'done', bytesDone: total, bytesTotal: total, filesDone: 7, filesTotal: 7, etaSeconds: 0 });
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
    expect(events.some((e) => e.phase === 'download' && e.file === 'model.safetensors')).toBe(true);
    expect(result.downloadedBytes).toBe(total);
  });

  it('reuses the cache: a second download transfers nothing', async () => {
    await downloadModel('test-org/tiny-bert', opts());
    hub.requests.length = 0;
    const again = await downloadModel('test-org/tiny-bert', opts());
    expect(again.downloadedBytes).toBe(0);
    expect(hub.dataRequests()).toEqual([]);
    expect(findCachedSnapshot(cacheDir, 'test-org/tiny-bert', 'main')?.dir).toBe(again.dir);
  });

  it('resolves tags and commit hashes, and records the tag in refs/', async () => {
    const byTag = await downloadModel('test-org/tiny-bert', opts({ revision: 'v1' }));
    expect(byTag.commit).toBe(COMMIT);
    expect(readRef(cacheDir, 'test-org/tiny-bert', 'v1')).toBe(COMMIT);
    const byCommit = await downloadModel('test-org/tiny-bert', opts({ revision: COMMIT }));
    expect(byCommit.dir).toBe(byTag.dir);
  });

  it('reads pytorch_model.bin repos (the small Google BERTs) and sharded ones', async () => {
    const pt = await downloadModel('google/tiny-pt-bert', opts());
    expect(pt.weightsFormat).toBe('pytorch-bin');
    expect(readModelWeights(pt.dir).format).toBe('pytorch-bin');
    const sharded = await downloadModel('test-org/sharded-bert', opts());
    expect(sharded.weightsFormat).toBe('sharded-pytorch-bin');
    expect(sharded.files).toContain('pytorch_model-00002-of-00002.bin');
    expect(readModelWeights(sharded.dir).weights.size).toBe(readModelWeights(pt.dir).weights.size);
    expect(listCachedModels(cacheDir).map((m) => [m.repo, m.revisions[0]!.complete])).toEqual([
      ['google/tiny-pt-bert', true],
      ['test-org/sharded-bert', true],
    ]);
  });

  it('resumes with HTTP Range after a cancel', async () => {
    hub.fault('model.safetensors', { slow: { chunk: 8192, delayMs: 15 } });
    const controller = new AbortController();
    const err = await failure(
      downloadModel(
        'test-org/tiny-bert',
        opts({
          signal: controller.signal,
          onProgress: (p) => {
            if (p.file === 'model.safetensors' && p.phase === 'download' && p.bytesDone > 60_000) controller.abort();
          },
        }),
      ),
    );
    expect(err.code).toBe('cancelled');
    expect(err.message).toMatch(/cancelled.*download again to resume/);
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    const partial = `${blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content))}.incomplete`;
    const kept = fs.statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(model.content.length);
    expect(fs.existsSync(path.join(snapshotDir(cacheDir, 'test-org/tiny-bert', COMMIT), 'model.safetensors'))).toBe(false);
    expect(readRef(cacheDir, 'test-org/tiny-bert', 'main')).toBeNull();
    expectSnapshotsConsistent('test-org/tiny-bert');

    hub.clearFaults();
    hub.requests.length = 0;
    const result = await downloadModel('test-org/tiny-bert', opts());
    const ranged = hub.requests.filter((r) => r.origin === 'cdn' && r.range && r.range !== 'bytes=0-0');
    expect(ranged.map((r) => r.range)).toEqual([`bytes=${kept}-${model.content.length - 1}`]);
    expect(result.reusedBytes).toBeGreaterThanOrEqual(kept);
    expect(fs.existsSync(partial)).toBe(false);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('resumes a leftover .incomplete after a crash', async () => {
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    const blob = blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content));
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.writeFileSync(`${blob}.incomplete`, model.content.subarray(0, 50_000));
    const result = await downloadModel('test-org/tiny-bert', opts());
    expect(hub.requests.filter((r) => r.origin === 'cdn' && r.range?.startsWith('bytes=50000-'))).toHaveLength(1);
    expect(fs.readFileSync(path.join(result.dir, 'model.safetensors')).equals(model.content)).toBe(true);
  });

  it('starts over when the server ignores Range', async () => {
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    const blob = blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content));
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.writeFileSync(`${blob}.incomplete`, model.content.subarray(0, 30_000));
    hub.fault('model.safetensors', { ignoreRange: true });
    const result = await downloadModel('test-org/tiny-bert', opts());
    expect(fs.readFileSync(path.join(result.dir, 'model.safetensors')).equals(model.content)).toBe(true);
  });

  it('a truncated response: a clear error, the partial bytes kept, then a resume', async () => {
    hub.fault('model.safetensors', { truncateAfter: 70_000, times: 1 });
    const err = await failure(downloadModel('test-org/tiny-bert', opts()));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/model\.safetensors: the connection broke after .* of .*; what arrived is kept, download again to resume/);
    expect(fs.existsSync(path.join(snapshotDir(cacheDir, 'test-org/tiny-bert', COMMIT), 'model.safetensors'))).toBe(false);
    expectSnapshotsConsistent('test-org/tiny-bert');
    hub.requests.length = 0;
    await downloadModel('test-org/tiny-bert', opts());
    expect(hub.requests.some((r) => r.origin === 'cdn' && r.range === `bytes=70000-${hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!.content.length - 1}`)).toBe(true);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('retries a dropped connection by itself, resuming', async () => {
    hub.fault('model.safetensors', { truncateAfter: 40_000, times: 2 });
    const result = await downloadModel('test-org/tiny-bert', opts({ retries: 3 }));
    expect(result.files).toContain('model.safetensors');
    expect(hub.requests.filter((r) => r.origin === 'cdn' && r.range?.startsWith('bytes=80000-'))).toHaveLength(1);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('a wrong sha256: refused, the damaged bytes deleted, nothing cached', async () => {
    hub.fault('model.safetensors', { corrupt: true });
    const err = await failure(downloadModel('test-org/tiny-bert', opts({ retries: 2 })));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/model\.safetensors: checksum mismatch \(sha256 .*the damaged download was deleted/);
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    const blob = blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content));
    expect(fs.existsSync(blob)).toBe(false);
    expect(fs.existsSync(`${blob}.incomplete`)).toBe(false);
    expect(fs.existsSync(path.join(snapshotDir(cacheDir, 'test-org/tiny-bert', COMMIT), 'model.safetensors'))).toBe(false);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('a small file whose bytes do not match its git sha1 is refused too', async () => {
    hub.fault('vocab.txt', { corrupt: true });
    const err = await failure(downloadModel('test-org/tiny-bert', opts()));
    expect(err.message).toMatch(/vocab\.txt: checksum mismatch \(git sha1/);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('an ETag that disagrees with the file listing is refused before any byte is kept', async () => {
    hub.fault('vocab.txt', { etag: 'c'.repeat(40) });
    const err = await failure(downloadModel('test-org/tiny-bert', opts()));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/vocab\.txt: the Hub's ETag cccccccccccc… differs from its file listing/);
    const vocab = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'vocab.txt')!;
    expect(fs.existsSync(`${blobPath(cacheDir, 'test-org/tiny-bert', gitBlobSha1(vocab.content))}.incomplete`)).toBe(false);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('a CDN ETag that is not a content id does not matter: the sha256 decides', async () => {
    hub.fault('model.safetensors', { etag: 'c'.repeat(64) });
    const result = await downloadModel('test-org/tiny-bert', opts());
    expect(result.files).toContain('model.safetensors');
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('an empty file is cached without a transfer', async () => {
    hub.addRepo({ id: 'test-org/empty-file', commit: COMMIT, files: [...bertFiles(), { path: 'added_tokens.json', content: Buffer.alloc(0) }] });
    const result = await downloadModel('test-org/empty-file', opts());
    expect(fs.statSync(path.join(result.dir, 'added_tokens.json')).size).toBe(0);
  });

  it('a stalled server: aborted after the stall timeout, partial bytes kept', async () => {
    hub.fault('model.safetensors', { stallAfter: 20_000 });
    const started = Date.now();
    const err = await failure(downloadModel('test-org/tiny-bert', opts({ stallTimeoutMs: 300 })));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/no data from .* for 0\.3 s; the connection stalled/);
    const model = hub.repos.get('test-org/tiny-bert')!.files.find((f) => f.path === 'model.safetensors')!;
    expect(fs.statSync(`${blobPath(cacheDir, 'test-org/tiny-bert', sha256(model.content))}.incomplete`).size).toBe(20_000);
    expectSnapshotsConsistent('test-org/tiny-bert');
  });

  it('404: an unknown model, revision or host gives a clear message and creates nothing', async () => {
    let err = await failure(downloadModel('test-org/nope', opts()));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/no model "test-org\/nope" on http:\/\/127\.0\.0\.1/);
    err = await failure(downloadModel('test-org/tiny-bert', opts({ revision: 'no-such-branch' })));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/has no revision "no-such-branch"/);
    expect(fs.existsSync(cacheDir)).toBe(false);
    err = await failure(downloadModel('test-org/tiny-bert', opts({ hubUrl: 'http://127.0.0.1:9' })));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('401 for a gated model without a token, 403 with a token without access, success with access', async () => {
    let err = await failure(downloadModel('test-org/gated-bert', opts()));
    expect(err.code).toBe('invalid_input');
    expect(err.field).toBe('token');
    expect(err.message).toMatch(/is a gated model: accept its conditions at .*\/test-org\/gated-bert.*HF_TOKEN/);
    err = await failure(downloadModel('test-org/gated-bert', opts({ token: 'hf_someone_else' })));
    expect(err.message).toMatch(/your token has no access to the gated model/);
    expectSnapshotsConsistent('test-org/gated-bert');
    const ok = await downloadModel('test-org/gated-bert', opts({ token: GOOD_TOKEN }));
    expect(ok.files).toContain('model.safetensors');
    // The token went to the Hub, never to the CDN.
    expect(hub.requests.filter((r) => r.origin === 'hub' && r.authorization === `Bearer ${GOOD_TOKEN}`).length).toBeGreaterThan(0);
    expect(hub.requests.filter((r) => r.origin === 'cdn' && r.authorization)).toEqual([]);
  });

  it('a private model needs a token; HF_TOKEN from the environment is used', async () => {
    const err = await failure(downloadModel('test-org/private-bert', opts()));
    expect(err.message).toMatch(/is private or does not exist; if it is private, set HF_TOKEN/);
    const ok = await downloadModel('test-org/private-bert', { ...opts(), env: { HF_TOKEN: GOOD_TOKEN, HF_HOME: path.join(tmp, 'hf-home') } });
    expect(ok.commit).toBe(COMMIT);
  });

  it('a repo without PyTorch/safetensors weights is refused with the files it has', async () => {
    const err = await failure(downloadModel('test-org/tf-only', opts()));
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/has no model\.safetensors or pytorch_model\.bin \(only tf_model\.h5\)/);
  });
});

describe('hubConnection', () => {
  it('follows HF_ENDPOINT, HF_TOKEN and HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
    const c = hubConnection({ env: { HF_ENDPOINT: 'https://mirror.example/', HF_TOKEN: 'hf_x', HF_HUB_CACHE: '/data/hub' } });
    expect(c).toEqual({ hubUrl: 'https://mirror.example', accessToken: 'hf_x', cacheDir: path.resolve('/data/hub') });
    expect(hubCacheDir({ HF_HOME: '/opt/hf' })).toBe(path.resolve('/opt/hf/hub'));
    expect(hubCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    expect(hubConnection({ env: { HF_HOME: path.join(tmp, 'none') } }).hubUrl).toBe('https://huggingface.co');
  });

  it('reads the token file huggingface-cli login writes, and refuses tokens that are not hf_', () => {
    const home = path.join(tmp, 'login-home');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'token'), 'hf_from_login\n');
    expect(hubConnection({ env: { HF_HOME: home } }).accessToken).toBe('hf_from_login');
    expect(() => hubConnection({ token: 'abc', env: {} })).toThrow(/must start with "hf_"/);
    expect(() => hubConnection({ env: { HF_ENDPOINT: 'ftp://x' } })).toThrow(/HF_ENDPOINT "ftp:\/\/x" is not an http\(s\) URL/);
  });
});
