/**
 * Which weight files a model folder holds, and reading them as float32 for the engine, in the
 * order transformers prefers: model.safetensors, model.safetensors.index.json (shards),
 * pytorch_model.bin, pytorch_model.bin.index.json (shards).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { WeightsFormat } from '../../shared/models';
import { readSafetensors, readShardedSafetensors, SafetensorsError, type WeightMap } from './safetensors';
import { readPytorchBin, readShardedPytorchBin } from './pytorch-bin';

export type { WeightsFormat } from '../../shared/models';

export const WEIGHT_FILES: { file: string; format: WeightsFormat }[] = [
  { file: 'model.safetensors', format: 'safetensors' },
  { file: 'model.safetensors.index.json', format: 'sharded-safetensors' },
  { file: 'pytorch_model.bin', format: 'pytorch-bin' },
  { file: 'pytorch_model.bin.index.json', format: 'sharded-pytorch-bin' },
];

/** Weight files of other frameworks, which the app does not read, and how to convert them. */
export const OTHER_WEIGHT_FILES: Record<string, string> = {
  'tf_model.h5': 'TensorFlow weights',
  'tf_model.h5.index.json': 'TensorFlow weights',
  'flax_model.msgpack': 'Flax weights',
  'flax_model.msgpack.index.json': 'Flax weights',
  'model.onnx': 'an ONNX export',
  'rust_model.ot': 'rust-bert weights',
  'model.ckpt.index': 'a TensorFlow checkpoint',
  'bert_model.ckpt.index': 'a TensorFlow checkpoint',
};

export interface DetectedWeights {
  format: WeightsFormat;
  /** The index file (sharded formats) or the single weights file, relative to the folder. */
  entry: string;
  /** Every file that will be read (shards for sharded formats), relative to the folder. */
  files: string[];
  /** Shards the index names that are not in the folder. */
  missing: string[];
}

/** The shard file names an index's weight_map refers to, in first-use order. */
export function shardNames(indexFile: string): string[] {
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as typeof index;
  } catch (err) {
    throw new AppError('io', `${indexFile}: cannot read the shard index (${(err as Error).message}); download the model again`);
  }
  if (!index.weight_map || typeof index.weight_map !== 'object') throw new AppError('io', `${indexFile}: the shard index has no weight_map`);
  const names: string[] = [];
  for (const v of Object.values(index.weight_map)) {
    if (typeof v !== 'string' || v.includes('/') || v.includes('\\') || v.includes('..') || v.length === 0) {
      throw new AppError('unsupported', `${indexFile}: shard name ${JSON.stringify(v)} points outside the model folder`);
    }
    if (!names.includes(v)) names.push(v);
  }
  return names;
}

/** The weights a folder offers (the preferred format), or null when it has none the app reads. */
export function detectWeights(dir: string): DetectedWeights | null {
  for (const { file, format } of WEIGHT_FILES) {
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) continue;
    if (format === 'sharded-safetensors' || format === 'sharded-pytorch-bin') {
      const shards = shardNames(full);
      return { format, entry: file, files: shards, missing: shards.filter((s) => !fs.existsSync(path.join(dir, s))) };
    }
    return { format, entry: file, files: [file], missing: [] };
  }
  return null;
}

/**
 * Reads a model folder's weights as float32 tensors with Hugging Face parameter names.
 * Throws AppError: not_found (no weights or a missing shard), io (damaged), unsupported.
 */
export function readModelWeights(dir: string): { weights: WeightMap; format: WeightsFormat } {
  const found = detectWeights(dir);
  if (!found) {
    const others = Object.keys(OTHER_WEIGHT_FILES).filter((f) => fs.existsSync(path.join(dir, f)));
    const hint = others.length
      ? ` It has ${others.map((f) => `${f} (${OTHER_WEIGHT_FILES[f]})`).join(', ')}, which the app does not read; convert it in Python with transformers: AutoModel.from_pretrained(folder${others.some((f) => f.startsWith('tf_')) ? ', from_tf=True' : others.some((f) => f.startsWith('flax')) ? ', from_flax=True' : ''}).save_pretrained(folder).`
      : '';
    throw new AppError('not_found', `${dir}: no weights found: expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json.${hint}`);
  }
  if (found.missing.length) {
    throw new AppError('not_found', `${path.join(dir, found.entry)}: shard${found.missing.length > 1 ? 's' : ''} ${found.missing.join(', ')} missing; download the model again`);
  }
  const full = path.join(dir, found.entry);
  try {
    switch (found.format) {
      case 'safetensors':
        return { weights: readSafetensors(full), format: found.format };
      case 'sharded-safetensors':
        return { weights: readShardedSafetensors(full), format: found.format };
      case 'pytorch-bin':
        return { weights: readPytorchBin(full), format: found.format };
      case 'sharded-pytorch-bin':
        return { weights: readShardedPytorchBin(full, (shard) => path.join(dir, shard)), format: found.format };
    }
  } catch (err) {
    if (err instanceof SafetensorsError) throw new AppError('io', `${err.message}. Download the model again or re-save it.`);
    throw err;
  }
}
