/**
 * The whole path a user takes with a small Google BERT: download from the (fake) Hub a repo that
 * ships only config.json + pytorch_model.bin + vocab.txt, then load it with the engine. The
 * weights come through the restricted pickle reader, the tokenizer through the vocab.txt
 * converter; both must reproduce the reference fixture's golden tokens and logits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { loadModelFolder } from '../../src/main/engine/load';
import { ForwardContext } from '../../src/main/engine/models/layers';
import { tf } from '../../src/main/engine/tf';
import { resolveModel } from '../../src/main/hub/resolve';
import { loadGolden } from '../helpers/reference';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { FakeHub } from './helpers/fake-hub';
import { useHeavyTimeouts } from '../engine/timeouts';

useHeavyTimeouts();

const HUB_FIXTURES = path.resolve(__dirname, '../fixtures/hub');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hube2e-'));
const hub = new FakeHub();

beforeAll(async () => {
  await setTestBackend('cpu');
  hub.addRepo({
    id: 'google/tiny-pt-bert',
    commit: '1'.repeat(40),
    files: ['config.json', 'vocab.txt', 'pytorch_model.bin'].map((f) => ({ path: f, content: fs.readFileSync(path.join(HUB_FIXTURES, 'bert-pt', f)), lfs: f.endsWith('.bin') })),
  });
  await hub.start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('a pytorch_model.bin + vocab.txt model from the Hub trains-ready in the engine with the golden logits', async () => {
  const resolved = await resolveModel('google/tiny-pt-bert', { hubUrl: hub.url, cacheDir: path.join(tmp, 'cache'), env: { HF_HOME: tmp } });
  const loaded = await loadModelFolder(resolved.dir);
  try {
    expect(loaded.weightsFormat).toBe('pytorch-bin');
    expect(loaded.report.initialised).toEqual([]);
    expect(loaded.tokenizer.files.source).toBe('vocab.txt');
    const golden = loadGolden('bert');
    for (const c of golden.tokenization) {
      expect(loaded.tokenizer.encode(c.text, c.truncation_max_length ?? 100000, c.text_pair).ids).toEqual(c.input_ids);
    }
    const c = golden.logits_cases[0]!;
    const ids = (c.input ?? c).input_ids!;
    const mask = (c.input ?? c).attention_mask;
    const types = (c.input ?? c).token_type_ids;
    const rows = ids.map((row, i) => {
      const len = mask?.[i] ? mask[i]!.reduce((a, b) => a + b, 0) : row.length;
      return { ids: row.slice(0, len), typeIds: types?.[i]?.slice(0, len) };
    });
    const batch = batchTensors(padRows(rows, loaded.tokenizer.padId), loaded.model.config);
    const logits = tf.tidy(() => loaded.model.logits(batch, new ForwardContext(false, 0, activeKernels())).arraySync());
    disposeBatch(batch);
    expect(maxAbsDiff(logits.flat(), c.logits.flat())).toBeLessThanOrEqual(1e-5);
  } finally {
    loaded.model.store.dispose();
  }
});
