/**
 * Writes a Hugging Face model folder that transformers' AutoModelForSequenceClassification and
 * AutoTokenizer load: config.json (architectures, id2label, label2id, problem_type),
 * model.safetensors with the HF parameter names, and the tokenizer files. The folder appears
 * whole or not at all (temp folder, fsync, rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../shared/json';
import { fsyncTree, removeDirSafely, renameWithRetry, writeFileSynced } from '../fsutil';
import { ARCHITECTURES, type SequenceClassifier } from './models/index';
import { serializeSafetensors } from './safetensors';
import type { TokenizerFiles } from './tokenizer';

/** Tokenizer side files copied when the source folder has them (slow-tokenizer formats). */
const TOKENIZER_SIDE_FILES = ['vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'special_tokens_map.json', 'added_tokens.json'];

export function modelConfigJson(model: SequenceClassifier): JsonObject {
  const c = model.config;
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  c.id2label.forEach((label, i) => {
    id2label[String(i)] = label;
    label2id[label] = i;
  });
  const raw = { ...c.raw };
  delete raw.num_labels;
  delete raw._name_or_path;
  return {
    ...raw,
    architectures: [ARCHITECTURES[c.modelType]],
    model_type: c.modelType,
    id2label,
    label2id,
    problem_type: 'single_label_classification',
    torch_dtype: 'float32',
  };
}

export function modelWeights(model: SequenceClassifier): [string, { shape: number[]; data: Float32Array }][] {
  return model.store.names().map((name) => {
    const v = model.store.get(name);
    return [name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array }];
  });
}

export interface SaveOptions {
  /** The folder the model was loaded from (tokenizer side files are copied from it). */
  sourceDir?: string;
  tokenizer: TokenizerFiles;
  /** Extra files to write (e.g. README.md). */
  extraFiles?: Record<string, string>;
}


/** Writes the folder contents into dir (which must exist and be empty). */
export function writeModelFiles(dir: string, model: SequenceClassifier, options: SaveOptions): void {
  writeFileSynced(path.join(dir, 'config.json'), JSON.stringify(modelConfigJson(model), null, 2) + '\n');
  writeFileSynced(path.join(dir, 'model.safetensors'), serializeSafetensors(modelWeights(model), { format: 'pt' }));
  writeFileSynced(path.join(dir, 'tokenizer.json'), JSON.stringify(options.tokenizer.tokenizer));
  const tokConfig: JsonObject = { ...options.tokenizer.config };
  writeFileSynced(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokConfig, null, 2) + '\n');
  if (options.sourceDir) {
    for (const f of TOKENIZER_SIDE_FILES) {
      const src = path.join(options.sourceDir, f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
    }
  }
  for (const [name, content] of Object.entries(options.extraFiles ?? {})) writeFileSynced(path.join(dir, name), content);
}

/** Saves atomically: an existing folder is replaced only once the new one is complete. */
export function saveModelFolder(dir: string, model: SequenceClassifier, options: SaveOptions): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  try {
    writeModelFiles(tmp, model, options);
    fsyncTree(tmp);
    if (fs.existsSync(dir)) {
      const old = path.join(parent, `.${path.basename(dir)}.old-${process.pid}-${Date.now()}`);
      renameWithRetry(dir, old, 10);
      renameWithRetry(tmp, dir, 10);
      removeDirSafely(old);
    } else {
      renameWithRetry(tmp, dir, 10);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
