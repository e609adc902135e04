/**
 * The weights of a model folder in whichever format it ships: model.safetensors, a sharded
 * safetensors index, or pytorch_model.bin (read by a restricted reader).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensors, readShardedSafetensors, type WeightMap } from '../engine/safetensors';

export type WeightsFormat = 'safetensors' | 'sharded-safetensors' | 'pytorch-bin' | 'sharded-pytorch-bin';

export function readModelWeights(dir: string): { weights: WeightMap; format: WeightsFormat } {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return { weights: readSafetensors(single), format: 'safetensors' };
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) return { weights: readShardedSafetensors(index), format: 'sharded-safetensors' };
  throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json; the folder has no weights this app can read`);
}
