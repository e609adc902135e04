/**
 * Padded batches: each batch is padded to its own longest row (dynamic padding), with the
 * attention mask as an additive [B, 1, 1, T] tensor (float32 min on padded keys).
 */
import { tf } from './tf';
import { FAMILIES } from '../../shared/model-families';
import type { ModelConfig } from '../hf/config';
import type { BatchTensors } from './models/layers';
import { robertaPositionIds } from './models/roberta';

/** float32's most negative value, as transformers adds to masked scores. */
export const MASK_VALUE = -3.4028234663852886e38;

export interface HostBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
}

/** Pads rows of ids (and token types) to the longest row with the pad id. */
export function padRows(rows: readonly { ids: ArrayLike<number>; typeIds?: ArrayLike<number> }[], padId: number): HostBatch {
  const batchSize = rows.length;
  const seqLen = rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const attentionMask = new Int32Array(batchSize * seqLen);
  const tokenTypeIds = new Int32Array(batchSize * seqLen);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length; t++) {
      inputIds[b * seqLen + t] = r.ids[t]!;
      attentionMask[b * seqLen + t] = 1;
      if (r.typeIds) tokenTypeIds[b * seqLen + t] = r.typeIds[t]!;
    }
  });
  return { batchSize, seqLen, inputIds, attentionMask, tokenTypeIds };
}

/** Host arrays -> the tensors a forward pass reads. The caller disposes them (disposeBatch). */
export function batchTensors(host: HostBatch, config: ModelConfig): BatchTensors {
  const { batchSize: b, seqLen: t } = host;
  let positions: Int32Array;
  if (FAMILIES[config.modelType].positionsAfterPad) {
    positions = robertaPositionIds(host.inputIds, b, t, config.padTokenId);
  } else {
    positions = new Int32Array(b * t);
    for (let i = 0; i < b; i++) for (let j = 0; j < t; j++) positions[i * t + j] = j;
  }
  const mask = new Float32Array(b * t);
  for (let i = 0; i < b * t; i++) mask[i] = host.attentionMask[i] ? 0 : MASK_VALUE;
  const cls = new Int32Array(b);
  for (let i = 0; i < b; i++) cls[i] = i * t;
  const maxPos = config.maxPositionEmbeddings;
  for (let i = 0; i < positions.length; i++) {
    if (positions[i]! >= maxPos) {
      throw new Error(`sequence of ${t} tokens is longer than the model allows (max_position_embeddings ${maxPos}); lower the max length`);
    }
  }
  for (let i = 0; i < host.inputIds.length; i++) {
    const id = host.inputIds[i]!;
    if (id < 0 || id >= config.vocabSize) throw new Error(`token id ${id} is outside the vocabulary (${config.vocabSize}); the tokenizer does not match the model`);
  }
  return {
    batchSize: b,
    seqLen: t,
    inputIds: tf.tensor1d(host.inputIds, 'int32'),
    positionIds: tf.tensor1d(positions, 'int32'),
    tokenTypeIds: config.typeVocabSize > 0 ? tf.tensor1d(host.tokenTypeIds, 'int32') : null,
    additiveMask: tf.tensor4d(mask, [b, 1, 1, t], 'float32'),
    clsIndex: tf.tensor1d(cls, 'int32'),
  };
}

export function disposeBatch(batch: BatchTensors): void {
  tf.dispose([batch.inputIds, batch.positionIds, batch.additiveMask, batch.clsIndex]);
  if (batch.tokenTypeIds) batch.tokenTypeIds.dispose();
}
