import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/main/engine/tokenizer';
import { FAMILIES, fixtureDir, loadGolden } from '../helpers/reference';

describe.each(FAMILIES)('%s tokenizer', (family) => {
  it('reproduces every golden tokenization, truncation included', async () => {
    const tok = await loadTokenizer(fixtureDir(family));
    const golden = loadGolden(family);
    expect(golden.tokenization.length).toBeGreaterThan(5);
    for (const c of golden.tokenization) {
      const max = c.truncation_max_length ?? 100000;
      const enc = tok.encode(c.text, max, c.text_pair);
      expect(enc.ids, JSON.stringify(c.text).slice(0, 60)).toEqual(c.input_ids);
      expect(enc.typeIds).toEqual(c.token_type_ids);
      if (!c.truncation_max_length) expect(tok.countTokens(c.text, c.text_pair)).toBe(c.input_ids.length);
    }
  });
});

describe('real Hub tokenizers', () => {
  const root = path.resolve(__dirname, '../../../shared/datasets/tokenizers');
  it.each(['bert-base-uncased', 'roberta-base'])('%s loads and truncates keeping the separator', async (name) => {
    const dir = path.join(root, name);
    expect(fs.existsSync(dir)).toBe(true);
    const tok = await loadTokenizer(dir);
    const text = 'Stocks rally as investors cheer strong earnings. '.repeat(40);
    const enc = tok.encode(text, 128);
    expect(enc.ids.length).toBe(128);
    const full = tok.encode(text, 100000).ids;
    expect(enc.ids[127]).toBe(full[full.length - 1]);
    expect(enc.ids.slice(0, 127)).toEqual(full.slice(0, 127));
    expect(tok.vocabSize).toBe(name === 'bert-base-uncased' ? 30522 : 50265);
    expect(tok.padId).toBe(name === 'bert-base-uncased' ? 0 : 1);
  });
});
