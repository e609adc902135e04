/**
 * config.json, read and normalised across the families (each family's record in
 * shared/model-families.ts reads its own field names: DistilBERT's dim / n_layers / n_heads...). The raw object is kept so that saving
 * writes back every field the user's checkpoint had.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { JsonObject } from '../../shared/json';
import { FAMILIES, isModelFamily, MODEL_FAMILIES, type ConfigFieldReader, type ModelFamily } from '../../shared/model-families';

export const ACTIVATIONS = ['gelu', 'gelu_python', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh', 'quick_gelu', 'relu', 'silu', 'swish', 'tanh', 'sigmoid', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface ModelConfig {
  raw: JsonObject;
  modelType: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: Activation;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout before the classifier (classifier_dropout, seq_classif_dropout...). */
  classifierDropout: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** ALBERT only. */
  embeddingSize: number;
  numHiddenGroups: number;
  innerGroupNum: number;
  numLabels: number;
  id2label: string[];
  problemType: string | null;
  initializerRange: number;
}

export class ConfigError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ConfigError';
  }
}

function num(raw: JsonObject, key: string, file: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(file, `"${key}" is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(file, `"${key}" must be a number, not ${JSON.stringify(v)}`);
  return v;
}

/** The longest input the position table allows (RoBERTa positions start at pad_id + 1). */
export function maxSequenceLength(c: ModelConfig): number {
  return FAMILIES[c.modelType].positionsAfterPad ? c.maxPositionEmbeddings - c.padTokenId - 1 : c.maxPositionEmbeddings;
}

export function parseModelConfig(raw: JsonObject, file = 'config.json'): ModelConfig {
  const mt = raw.model_type;
  if (!isModelFamily(mt)) {
    throw new ConfigError(file, `model_type ${JSON.stringify(mt)} is not supported; this app trains ${MODEL_FAMILIES.join(', ')}`);
  }
  const modelType = mt;
  const family = FAMILIES[modelType];
  const reader: ConfigFieldReader = { num: (key, fallback) => num(raw, key, file, fallback), raw: (key) => raw[key] };
  const fields = family.readConfig(reader);
  const { hiddenSize, numAttentionHeads } = fields;
  const act = fields.activation;
  if (!(ACTIVATIONS as readonly string[]).includes(act)) {
    throw new ConfigError(file, `activation "${act}" is not supported; known: ${ACTIVATIONS.join(', ')}`);
  }
  const pet = raw.position_embedding_type;
  if (pet !== undefined && pet !== null && pet !== 'absolute') {
    throw new ConfigError(file, `position_embedding_type "${String(pet)}" is not supported (only "absolute")`);
  }
  if (raw.sinusoidal_pos_embds === true) throw new ConfigError(file, 'sinusoidal_pos_embds is not supported');
  if (hiddenSize % numAttentionHeads !== 0) {
    throw new ConfigError(file, `hidden size ${hiddenSize} is not a multiple of ${numAttentionHeads} attention heads`);
  }
  const padTokenId = raw.pad_token_id === null || raw.pad_token_id === undefined ? family.defaultPadTokenId : num(raw, 'pad_token_id', file);

  let id2label: string[];
  const rawMap = raw.id2label;
  if (rawMap && typeof rawMap === 'object' && !Array.isArray(rawMap) && Object.keys(rawMap).length > 0) {
    const entries = Object.entries(rawMap).map(([k, v]) => [Number(k), String(v)] as const);
    entries.sort((a, b) => a[0] - b[0]);
    if (entries.some(([k], i) => k !== i)) throw new ConfigError(file, 'id2label keys must be 0, 1, 2, ... without gaps');
    id2label = entries.map(([, v]) => v);
  } else {
    const n = num(raw, 'num_labels', file, 2);
    id2label = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }

  return {
    raw,
    modelType,
    vocabSize: num(raw, 'vocab_size', file),
    hiddenSize,
    numHiddenLayers: fields.numHiddenLayers,
    numAttentionHeads,
    intermediateSize: fields.intermediateSize,
    hiddenAct: act as Activation,
    hiddenDropout: fields.hiddenDropout,
    attentionDropout: fields.attentionDropout,
    classifierDropout: fields.classifierDropout,
    maxPositionEmbeddings: num(raw, 'max_position_embeddings', file, 512),
    typeVocabSize: fields.typeVocabSize,
    layerNormEps: fields.layerNormEps,
    padTokenId,
    embeddingSize: fields.embeddingSize,
    numHiddenGroups: fields.numHiddenGroups,
    innerGroupNum: fields.innerGroupNum,
    numLabels: id2label.length,
    id2label,
    problemType: typeof raw.problem_type === 'string' ? raw.problem_type : null,
    initializerRange: num(raw, 'initializer_range', file, 0.02),
  };
}

export function readModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let raw: JsonObject;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonObject;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ConfigError(file, 'not found; a model folder needs config.json (download the model again or pick its folder)');
    throw new ConfigError(file, `cannot be read: ${e.message}`);
  }
  return parseModelConfig(raw, file);
}

/** Refuses a max length the model's position table cannot hold, saying what to set instead. */
export function checkMaxLength(modelDir: string, maxLength: number): void {
  const limit = maxSequenceLength(readModelConfig(modelDir));
  if (maxLength > limit) {
    throw new AppError('invalid_input', `This model reads at most ${limit} tokens per text; set the max length to ${limit} or less.`, 'options.maxLength');
  }
}

/** The same config with new labels (a fine-tune changes the head). */
export function withLabels(c: ModelConfig, labels: readonly string[]): ModelConfig {
  return { ...c, id2label: [...labels], numLabels: labels.length };
}
