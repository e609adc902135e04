/** `finetune data doctor FILE --model HUB_ID`: the Hub id resolves through the hub (fake Hub here); `~` expands. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataCommand } from '../../src/main/cli/data';
import { fixtureDir } from '../helpers/reference';
import { FakeHub, type FakeFile } from '../hub/helpers/fake-hub';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-doctor-'));
const hub = new FakeHub();
const saved = { ...process.env };
const file = path.join(tmp, 'reviews.csv');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await dataCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, out: out.join('\n'), err };
}

beforeAll(async () => {
  const files: FakeFile[] = ['config.json', 'tokenizer.json', 'vocab.txt', 'model.safetensors'].map((f) => ({ path: f, content: fs.readFileSync(path.join(fixtureDir('bert'), f)), lfs: f.endsWith('.safetensors') }));
  hub.addRepo({ id: 'test-org/tiny-bert', commit: 'a'.repeat(40), files });
  await hub.start();
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = path.join(tmp, 'cache');
  process.env.HF_HOME = path.join(tmp, 'hf-home');
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
  const lines = ['Review,Sentiment'];
  for (let i = 0; i < 30; i++) lines.push(`${'quite a long review text '.repeat(i % 5 === 0 ? 10 : 1)}${i},${i % 3 === 0 ? 'neg' : 'pos'}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await hub.close();
  for (const k of ['HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HOME', 'HF_TOKEN', 'HF_HUB_OFFLINE', 'HOME']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('finetune data doctor --model', () => {
  it('a Hub id is downloaded through the hub and its tokenizer measures the token lengths', async () => {
    const r = await run('doctor', file, '--model', 'test-org/tiny-bert', '--max-length', '16', '--text-column', 'review', '--label-column', 'SENTIMENT');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('text = "Review"; label = "Sentiment"');
    expect(r.out).toMatch(/Token lengths \(test-org\/tiny-bert, max length 16\)/);
    expect(hub.requests.some((q) => q.url.includes('test-org/tiny-bert'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'cache', 'models--test-org--tiny-bert'))).toBe(true);
  });

  it('an unknown Hub id fails with the hub\'s message (exit 1), not "no such folder"', async () => {
    const r = await run('doctor', file, '--model', 'test-org/missing');
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^finetune data doctor: no model "test-org\/missing"/);
  });

  it('a local folder still works, and ~ expands to the home folder', async () => {
    const home = path.join(tmp, 'home');
    fs.cpSync(fixtureDir('bert'), path.join(home, 'models', 'tiny'), { recursive: true });
    process.env.HOME = home;
    const r = await run('doctor', file, '--model', '~/models/tiny', '--max-length', '16', '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out) as { report: { tokenLengths: { maxLength: number; measured: number } } };
    expect(parsed.report.tokenLengths).toMatchObject({ maxLength: 16, measured: 30 });
  });
});
