/** The models feature's own parts: "~", the browser host's folder picker, models from scratch. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchModel, expandHome, findTokenizerDir, listFolder, modelStartOf, scratchModelDir } from '../../src/main/features/models';
import { inspectModelFolder } from '../../src/main/hf/inspect';
import { AppError } from '../../src/shared/errors';
import { MODEL_START_FILE } from '../../src/shared/scratch';
import { apiArgs, parseArgs } from '../../src/shared/schema';

let tmp: string;
beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ft-models-')));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('expandHome', () => {
  it('reads ~ and ~/x as the home folder, and leaves other paths alone', () => {
    expect(expandHome('~', '/home/ann')).toBe('/home/ann');
    expect(expandHome('~/models/bert', '/home/ann')).toBe(path.join('/home/ann', 'models/bert'));
    expect(expandHome('  ~/m  ', '/home/ann')).toBe(path.join('/home/ann', 'm'));
    expect(expandHome('/abs/~x', '/home/ann')).toBe('/abs/~x');
    expect(expandHome('~bob/x', '/home/ann')).toBe('~bob/x');
  });
});

describe('listFolder', () => {
  let home: string;
  let data: string;
  let outside: string;
  beforeAll(() => {
    home = path.join(tmp, 'home');
    data = path.join(tmp, 'data');
    outside = path.join(tmp, 'outside');
    for (const d of [home, data, outside, path.join(home, 'models/bert-mini'), path.join(home, 'docs'), path.join(home, '.hidden')]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(home, 'models/bert-mini/config.json'), '{}');
    fs.writeFileSync(path.join(home, 'notes.txt'), 'a file, not a folder');
    fs.symlinkSync(outside, path.join(home, 'escape'));
  });

  it('lists subfolders, marks model folders, hides dot folders, files and links that leave the roots', () => {
    const l = listFolder(home, [home, data]);
    expect(l.path).toBe(home);
    expect(l.parent).toBeNull();
    expect(l.roots).toEqual([home, data]);
    expect(l.folders.map((f) => f.name)).toEqual(['docs', 'models']);
    const models = listFolder(path.join(home, 'models'), [home, data]);
    expect(models.parent).toBe(home);
    expect(models.folders).toEqual([{ name: 'bert-mini', path: path.join(home, 'models/bert-mini'), isModel: true }]);
    expect(listFolder(path.join(home, 'models/bert-mini'), [home, data]).isModel).toBe(true);
  });

  it('starts at the first root when no path is given', () => {
    expect(listFolder(undefined, [home, data]).path).toBe(home);
    expect(listFolder('', [data, home]).path).toBe(data);
  });

  it('refuses paths outside the roots, through .. or a link', () => {
    for (const p of [outside, path.join(home, '..'), path.join(home, 'escape'), '/']) {
      let err: unknown;
      try {
        listFolder(p, [home, data]);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(AppError);
      expect((err as AppError).code, p).toBe('invalid_input');
    }
  });

  it('says when the folder does not exist or is a file', () => {
    expect(() => listFolder(path.join(home, 'nope'), [home])).toThrow(/no such folder/);
    try {
      listFolder(path.join(home, 'notes.txt'), [home]);
      expect.unreachable();
    } catch (e) {
      expect((e as AppError).code).toBe('invalid_input');
    }
  });
});

describe('createScratchModel', () => {
  it('finds the tokenizer that ships with the app in resources/', () => {
    const dir = findTokenizerDir();
    expect(dir.endsWith(path.join('resources', 'tokenizers', 'bert-base-uncased'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'tokenizer.json'))).toBe(true);
  });

  it('writes a trainable BERT of the tiny shape, marked as from scratch, and reuses it', async () => {
    const data = path.join(tmp, 'scratch-data');
    const m = await createScratchModel(data, 'tiny', ['neg', 'pos']);
    expect(m.dir).toBe(scratchModelDir(data, 'tiny'));
    expect(m.modelStart).toBe('scratch');
    // 30,522 x 128 word embeddings + 2 layers of 128 wide + head: about 4.4 M.
    expect(m.parameters).toBeGreaterThan(4e6);
    expect(m.parameters).toBeLessThan(5e6);
    const config = JSON.parse(fs.readFileSync(path.join(m.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'bert', hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512, vocab_size: 30522 });
    const report = await inspectModelFolder(m.dir);
    expect(report.ok).toBe(true);
    expect(report.labels).toEqual(['neg', 'pos']);
    expect(modelStartOf(m.dir)).toBe('scratch');
    expect(modelStartOf(findTokenizerDir())).toBe('pretrained');
    const stat = fs.statSync(path.join(m.dir, 'model.safetensors')).mtimeMs;
    const again = await createScratchModel(data, 'tiny');
    expect(again).toEqual(m);
    expect(fs.statSync(path.join(m.dir, 'model.safetensors')).mtimeMs).toBe(stat);
    expect(JSON.parse(fs.readFileSync(path.join(m.dir, MODEL_START_FILE), 'utf8')).modelStart).toBe('scratch');
  }, 60_000);
});

describe('schemas of the new methods', () => {
  it('accepts the three shapes and refuses others', () => {
    expect(parseArgs('createScratchModel', [{ shape: 'mini' }])).toEqual([{ shape: 'mini' }]);
    expect(() => parseArgs('createScratchModel', [{ shape: 'large' }])).toThrow(/shape/);
    expect(() => parseArgs('createScratchModel', [{ shape: 'tiny', labels: ['one'] }])).toThrow(/at least 2 labels/);
    expect(parseArgs('listFolder', [])).toEqual([]);
    expect(() => parseArgs('deleteDataset', ['../x'])).toThrow(/sha256/);
    expect(Object.keys(apiArgs)).toContain('deleteDataset');
  });
});
