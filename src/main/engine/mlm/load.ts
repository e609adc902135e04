/**
 * Loading a masked LM from any checkpoint of its family: a *ForMaskedLM or *ForPreTraining
 * checkpoint (the head is read), a base model or a sequence classifier (the head is created like
 * transformers: normal(initializer_range) weights, zero biases, LayerNorm ones / zeros).
 * Tied decoder keys are accepted in place of their source; a pair whose two keys differ is
 * refused (transformers 5 would untie it, which this engine does not model).
 */
import type { ModelConfig } from '../../hf/config';
import { readModelConfig } from '../../hf/config';
import { loadWeights, normaliseCheckpoint, WeightLoadError, type LoadReport, type SequenceClassifier } from '../models/index';
import type { WeightMap } from '../../hf/safetensors';
import { loadTokenizer, type TextTokenizer } from '../tokenizer';
import { readModelWeights } from '../../hf/weights';
import { createMaskedLm, type MaskedLanguageModel } from './model';

/** Entries a *ForMaskedLM ignores: pooler (add_pooling_layer=False), NSP / SOP heads, task heads, buffers. */
const IGNORED_FOR_MLM =
  /(^|\.)position_ids$|(^|\.)token_type_ids$|^((bert|albert|roberta|distilbert)\.)?pooler\.|^cls\.seq_relationship\.|^sop_classifier\.|^classifier\.|^pre_classifier\.|^qa_outputs\./;

export interface MlmLoadReport extends LoadReport {
  /** Tied decoder keys read in place of their source parameter. */
  tiedAliasesUsed: string[];
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface MlmLoadOptions {
  /** Seed for the head parameters the checkpoint lacks. */
  seed: number;
  source: string;
}

/**
 * Maps a checkpoint onto the masked LM (tied aliases resolved, ignorable entries dropped) and
 * loads it; the head is initialised when the checkpoint has none.
 */
export function loadMaskedLmWeights(model: MaskedLanguageModel, weights: WeightMap, options: MlmLoadOptions): MlmLoadReport {
  if (model.config.raw.tie_word_embeddings === false) {
    throw new WeightLoadError(`${options.source}: tie_word_embeddings is false (an untied decoder); masked-LM training here needs the decoder tied to the word embeddings.`);
  }
  const { map } = normaliseCheckpoint(weights, model);
  const out: WeightMap = new Map();
  const ignored: string[] = [];
  for (const [k, t] of map) {
    if (IGNORED_FOR_MLM.test(k) && !model.store.specs.has(k)) ignored.push(k);
    else out.set(k, t);
  }
  const tiedAliasesUsed: string[] = [];
  for (const [alias, source] of Object.entries(model.head.tied)) {
    const t = out.get(alias);
    if (!t) continue;
    out.delete(alias);
    const own = out.get(source);
    if (!own) {
      out.set(source, t);
      tiedAliasesUsed.push(alias);
    } else if (!sameValues(own.data, t.data)) {
      throw new WeightLoadError(
        `${options.source}: ${alias} differs from ${source}, to which the decoder is tied; the checkpoint has an untied decoder, which masked-LM training here does not support.`,
      );
    } else {
      ignored.push(alias);
    }
  }
  const report = loadWeights(model, out, { seed: options.seed, reinitialiseMismatchedHead: false, source: options.source });
  return { ...report, ignored: [...ignored, ...report.ignored], tiedAliasesUsed };
}

/** Whether loading created the masked-LM head (the checkpoint had none of it): PretrainOptions.newHead. */
export function isNewMlmHead(model: MaskedLanguageModel, report: LoadReport): boolean {
  return model.headParams.every((n) => report.initialised.includes(n));
}

export interface LoadedMaskedLm {
  model: MaskedLanguageModel;
  tokenizer: TextTokenizer;
  report: MlmLoadReport;
  weightsFormat: string;
}

/** Reads a model folder (any checkpoint of the four families) as a masked LM. */
export async function loadMaskedLmFolder(dir: string, options: { seed?: number } = {}): Promise<LoadedMaskedLm> {
  const config: ModelConfig = readModelConfig(dir);
  const { weights, format } = readModelWeights(dir);
  const model = createMaskedLm(config);
  let report: MlmLoadReport;
  try {
    report = loadMaskedLmWeights(model, weights, { seed: options.seed ?? 42, source: dir });
  } catch (err) {
    model.dispose();
    throw err;
  }
  const tokenizer = await loadTokenizer(dir, config.modelType);
  return { model, tokenizer, report, weightsFormat: format };
}

/** A masked LM with every parameter initialised like transformers (training from scratch). */
export { initialiseModel as initialiseMaskedLm } from '../models/index';

/**
 * Lays the encoder of an adapted *ForMaskedLM folder over a sequence classifier loaded from the
 * original folder: every classifier parameter outside its head (embeddings and layers) takes the
 * adapted values; the pooler and classification head stay as the original folder gave them
 * (loaded, or initialised from the run's seed), so that the masked-LM stage changes the encoder
 * and nothing else. Returns the names overlaid.
 */
export function overlayAdaptedEncoder(model: SequenceClassifier, adaptedDir: string): string[] {
  const { weights } = readModelWeights(adaptedDir);
  const { map } = normaliseCheckpoint(weights, model);
  const head = new Set(model.headParams);
  const overlaid: string[] = [];
  const problems: string[] = [];
  for (const [name, spec] of model.store.specs) {
    if (head.has(name)) continue;
    const t = map.get(name);
    if (!t) problems.push(`${name} is missing`);
    else if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) problems.push(`${name} is ${JSON.stringify(t.shape)}, not ${JSON.stringify(spec.shape)}`);
    else {
      model.store.set(name, t.data);
      overlaid.push(name);
    }
  }
  if (problems.length) {
    throw new WeightLoadError(
      `${adaptedDir}: the adapted encoder does not fit the model (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` and ${problems.length - 3} more` : ''}). ` +
        'Delete the mlm-model folder of this run and start the run again to redo the masked-LM stage.',
    );
  }
  return overlaid;
}
