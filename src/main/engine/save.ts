/**
 * Writes a Hugging Face model folder that transformers' AutoModelForSequenceClassification and
 * AutoTokenizer load: config.json (architectures, id2label, label2id, problem_type),
 * model.safetensors with the HF parameter names, and the tokenizer files. The folder appears
 * whole or not at all (temp folder, fsync, rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../shared/json';
import { fsyncPath, fsyncTree, renameWithRetry, writeFileSynced } from '../fsutil';
import { ARCHITECTURES, type SequenceClassifier } from './models/index';
import { serializeSafetensors } from './safetensors';
import type { TokenizerFiles } from './tokenizer';
import { nullRecord } from '../../shared/own';

/** Tokenizer side files copied when the source folder has them (slow-tokenizer formats). */
const TOKENIZER_SIDE_FILES = ['vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'special_tokens_map.json', 'added_tokens.json'];

export function modelConfigJson(model: SequenceClassifier): JsonObject {
  const c = model.config;
  // No prototype: a label named `__proto__` stays an ordinary key that JSON.stringify writes.
  const id2label = nullRecord<string>();
  const label2id = nullRecord<number>();
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

/** The complete new folder, renamed from its temp folder, waiting to replace `dir` (hidden: .model.new). */
export function pendingModelDir(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.new`);
}

/** The folder being replaced, kept until the new one is in place (hidden: .model.old). */
export function previousModelDir(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.old`);
}

/**
 * Finishes or undoes a swap that a kill interrupted, so that `dir` exists whenever any complete
 * model does. The swap is: temp folder (written, fsynced) -> .dir.new; dir -> .dir.old;
 * .dir.new -> dir; delete .dir.old. .dir.new is only ever a complete folder, so it wins; .dir.old
 * is restored only when nothing newer exists. Returns what it did.
 */
export function settleModelSwap(dir: string): 'none' | 'promoted-new' | 'restored-old' {
  const next = pendingModelDir(dir);
  const old = previousModelDir(dir);
  let did: 'none' | 'promoted-new' | 'restored-old' = 'none';
  if (fs.existsSync(next)) {
    if (fs.existsSync(dir)) {
      if (fs.existsSync(old)) fs.rmSync(old, { recursive: true, force: true });
      renameWithRetry(dir, old, 10);
    }
    renameWithRetry(next, dir, 10);
    did = 'promoted-new';
  } else if (!fs.existsSync(dir) && fs.existsSync(old)) {
    renameWithRetry(old, dir, 10);
    did = 'restored-old';
  }
  if (fs.existsSync(old) && fs.existsSync(dir)) fs.rmSync(old, { recursive: true, force: true });
  return did;
}

/** Test hook: called between the steps of the swap (a test throws or kills there). */
export type SwapStep = 'written' | 'pending' | 'moved-aside' | 'replaced';

/**
 * Saves atomically: at every instant either the previous complete folder or the new complete
 * folder is at `dir`, or (between two renames) at .dir.old / .dir.new, where settleModelSwap (run
 * before each save, and by the app at start and resume) finds it.
 */
export function saveModelFolder(dir: string, model: SequenceClassifier, options: SaveOptions & { onSwapStep?: (step: SwapStep) => void }): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  settleModelSwap(dir);
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  try {
    writeModelFiles(tmp, model, options);
    fsyncTree(tmp);
    options.onSwapStep?.('written');
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  replaceFolder(tmp, dir, options.onSwapStep);
}

/** The swap itself: tmp (complete) -> .dir.new -> dir, keeping the old folder at .dir.old meanwhile. */
export function replaceFolder(tmp: string, dir: string, onStep?: (step: SwapStep) => void): void {
  const next = pendingModelDir(dir);
  const old = previousModelDir(dir);
  if (fs.existsSync(next)) fs.rmSync(next, { recursive: true, force: true });
  renameWithRetry(tmp, next, 10);
  fsyncPath(path.dirname(dir));
  onStep?.('pending');
  if (fs.existsSync(dir)) {
    if (fs.existsSync(old)) fs.rmSync(old, { recursive: true, force: true });
    renameWithRetry(dir, old, 10);
    onStep?.('moved-aside');
  }
  renameWithRetry(next, dir, 10);
  fsyncPath(path.dirname(dir));
  onStep?.('replaced');
  fs.rmSync(old, { recursive: true, force: true });
}
