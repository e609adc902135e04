/**
 * Writes the adapted model as a Hugging Face *ForMaskedLM folder that transformers'
 * AutoModelForMaskedLM loads: config.json (architectures ["BertForMaskedLM"] ..., no label
 * fields, tie_word_embeddings true), model.safetensors with exactly the keys save_pretrained
 * writes (the encoder and the head; the tied decoder keys are not saved), and the tokenizer
 * files. A sequence classifier is then initialised from the same folder by the usual loader (the
 * encoder loads, the masked-LM head is ignored, the classification head is new). The folder
 * appears whole or not at all (temp folder, fsync, rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../../shared/json';
import { fsyncTree, removeDirSafely, renameWithRetry, writeFileSynced } from '../../fsutil';
import { serializeSafetensors } from '../../hf/safetensors';
import type { TokenizerFiles } from '../tokenizer';
import { MLM_ARCHITECTURES, type MaskedLanguageModel } from './model';

/** Tokenizer side files copied when the source folder has them (slow-tokenizer formats). */
const TOKENIZER_SIDE_FILES = ['vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'special_tokens_map.json', 'added_tokens.json'];

/** Fields of a classifier's config that a masked LM does not have. */
const LABEL_FIELDS = ['id2label', 'label2id', 'num_labels', 'problem_type', '_name_or_path', 'architectures'];

export function maskedLmConfigJson(model: MaskedLanguageModel): JsonObject {
  const raw: JsonObject = { ...model.config.raw };
  for (const f of LABEL_FIELDS) delete raw[f];
  return {
    architectures: [MLM_ARCHITECTURES[model.config.modelType]],
    ...raw,
    model_type: model.config.modelType,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
}

/** The saved tensors: every parameter under its HF name (the tied matrix once, under its embedding name). */
export function maskedLmWeights(model: MaskedLanguageModel): [string, { shape: number[]; data: Float32Array }][] {
  return model.store.names().map((name) => {
    const v = model.store.get(name);
    return [name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array }];
  });
}

export interface SaveMaskedLmOptions {
  tokenizer: TokenizerFiles;
  /** The folder the model was loaded from (tokenizer side files are copied from it). */
  sourceDir?: string;
  extraFiles?: Record<string, string>;
}

export function writeMaskedLmFiles(dir: string, model: MaskedLanguageModel, options: SaveMaskedLmOptions): void {
  writeFileSynced(path.join(dir, 'config.json'), JSON.stringify(maskedLmConfigJson(model), null, 2) + '\n');
  writeFileSynced(path.join(dir, 'model.safetensors'), serializeSafetensors(maskedLmWeights(model), { format: 'pt' }));
  writeFileSynced(path.join(dir, 'tokenizer.json'), JSON.stringify(options.tokenizer.tokenizer));
  writeFileSynced(path.join(dir, 'tokenizer_config.json'), JSON.stringify(options.tokenizer.config, null, 2) + '\n');
  if (options.sourceDir) {
    for (const f of TOKENIZER_SIDE_FILES) {
      const src = path.join(options.sourceDir, f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
    }
  }
  for (const [name, content] of Object.entries(options.extraFiles ?? {})) writeFileSynced(path.join(dir, name), content);
}

/** Saves atomically: an existing folder is replaced only once the new one is complete. */
export function saveMaskedLmFolder(dir: string, model: MaskedLanguageModel, options: SaveMaskedLmOptions): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  try {
    writeMaskedLmFiles(tmp, model, options);
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
