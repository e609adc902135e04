/**
 * Building a family's model from config.json and loading a checkpoint into it: one mapping
 * (checkpoint name -> HF parameter name, normalised as transformers does), and a load report
 * that fails loudly, naming the weight, on missing, unexpected or mis-shaped tensors.
 */
import type { ModelConfig } from '../../hf/config';
import type { WeightMap } from '../../hf/safetensors';
import { Rng } from '../rng';
import type { SequenceClassifier } from './base';
import { COMMON_IGNORABLE_KEYS, FAMILIES } from '../../../shared/model-families';
import { ARCHITECTURES, MODEL_CONSTRUCTORS } from './families';

export type { SequenceClassifier } from './base';

export { ARCHITECTURES } from './families';

export function createModel(config: ModelConfig): SequenceClassifier {
  return new MODEL_CONSTRUCTORS[config.modelType](config);
}

/**
 * Checkpoint entries that transformers also ignores for *ForSequenceClassification: buffers,
 * pre-training heads (MLM, NSP, SOP), other task heads, RoBERTa's unused pooler. The union over
 * the families' records (a checkpoint of one family never holds another's keys).
 */
const IGNORABLE = new RegExp([...COMMON_IGNORABLE_KEYS, ...Object.values(FAMILIES).flatMap((f) => f.ignorableKeys)].join('|'));

export interface LoadReport {
  /** Parameters read from the checkpoint. */
  loaded: number;
  /** Head parameters the checkpoint lacked (a base model), initialised like transformers. */
  initialised: string[];
  /** Head parameters whose shape differed (another label count), initialised anew. */
  reinitialised: string[];
  /** Checkpoint entries transformers ignores too (pre-training heads, buffers). */
  ignored: string[];
  /** Checkpoint names renamed on load (TF-era gamma/beta, a missing base prefix). */
  renamed: number;
}

export class WeightLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightLoadError';
  }
}

function list(names: string[]): string {
  const shown = names.slice(0, 6).join(', ');
  return names.length > 6 ? `${shown} and ${names.length - 6} more` : shown;
}

/** Renames as transformers does on load: gamma/beta -> weight/bias; add the base prefix when absent. */
export function normaliseCheckpoint(weights: WeightMap, model: SequenceClassifier): { map: WeightMap; renamed: number } {
  const expected = model.store.specs;
  const prefix = model.basePrefix + '.';
  const out: WeightMap = new Map();
  let renamed = 0;
  for (const [key, t] of weights) {
    let k = key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (!expected.has(k) && expected.has(prefix + k)) k = prefix + k;
    if (k !== key) renamed++;
    out.set(k, t);
  }
  return { map: out, renamed };
}

export interface LoadOptions {
  /** Seed for initialising head parameters the checkpoint lacks. */
  seed: number;
  /** Re-initialise head parameters whose shape differs (fine-tuning with other labels). */
  reinitialiseMismatchedHead: boolean;
  /** Where the weights came from, for messages. */
  source: string;
}

export function loadWeights(model: SequenceClassifier, weights: WeightMap, options: LoadOptions): LoadReport {
  const { map, renamed } = normaliseCheckpoint(weights, model);
  const specs = model.store.specs;
  const head = new Set(model.headParams);
  const unexpected = [...map.keys()].filter((k) => !specs.has(k));
  const ignored = unexpected.filter((k) => IGNORABLE.test(k));
  const other = unexpected.filter((k) => !IGNORABLE.test(k));
  if (other.length) {
    throw new WeightLoadError(
      `${options.source}: ${other.length} weight(s) do not belong to ${ARCHITECTURES[model.config.modelType]}: ${list(other)}. ` +
        'Check that config.json matches the weights (model_type, number of layers).',
    );
  }
  const missing = [...specs.keys()].filter((k) => !map.has(k));
  const missingEncoder = missing.filter((k) => !head.has(k));
  if (missingEncoder.length) {
    throw new WeightLoadError(
      `${options.source}: ${missingEncoder.length} weight(s) the model needs are missing: ${list(missingEncoder)}. ` +
        'The file is incomplete or belongs to another architecture; download the model again.',
    );
  }
  const mis: string[] = [];
  const reinitialised: string[] = [];
  for (const [name, spec] of specs) {
    const t = map.get(name);
    if (!t) continue;
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      if (head.has(name) && options.reinitialiseMismatchedHead) {
        reinitialised.push(name);
        continue;
      }
      mis.push(`${name} is ${JSON.stringify(t.shape)} but the config implies ${JSON.stringify(spec.shape)}`);
    }
  }
  if (mis.length) {
    throw new WeightLoadError(`${options.source}: mis-shaped weight(s): ${mis.slice(0, 4).join('; ')}${mis.length > 4 ? ` (and ${mis.length - 4} more)` : ''}.`);
  }
  const rng = new Rng(options.seed);
  const std = model.config.initializerRange;
  let loaded = 0;
  for (const name of specs.keys()) {
    const t = map.get(name);
    if (t && !reinitialised.includes(name)) {
      model.store.set(name, t.data);
      loaded++;
    } else {
      model.store.initialise(name, rng, std);
    }
  }
  return { loaded, initialised: missing, reinitialised, ignored, renamed };
}

/** A model with every parameter initialised like transformers' _init_weights (finetune init). */
export function initialiseModel(model: SequenceClassifier, seed: number): void {
  const rng = new Rng(seed);
  for (const name of model.store.names()) model.store.initialise(name, rng, model.config.initializerRange);
}

/** Trainer's decay groups: everything except biases and LayerNorm parameters. */
export function decayParameterNames(model: SequenceClassifier): string[] {
  return [...model.store.specs.values()].filter((s) => s.kind === 'linear-weight' || s.kind === 'embedding').map((s) => s.name);
}
