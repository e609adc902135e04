/**
 * The four families' *ForMaskedLM models as transformers builds them: the family's encoder (the
 * very modules of engine/models, built by the family's own class, without its pooler and
 * classification head) and the masked-LM head applied at the target positions:
 *
 *   BERT       h = cls.predictions.transform.LayerNorm(act(cls.predictions.transform.dense(x)))
 *   RoBERTa    h = lm_head.layer_norm(gelu(lm_head.dense(x)))             (always the erf gelu)
 *   DistilBERT h = vocab_layer_norm(act(vocab_transform(x)))                (eps 1e-12)
 *   ALBERT     h = predictions.LayerNorm(act(predictions.dense(x)))         (hidden -> embedding_size)
 *
 * then logits = h E^T + b with E the word-embedding matrix itself (the tied decoder weight: one
 * parameter, one gradient, one AdamW state) and b the head's vocabulary bias. Parameter names are
 * the Hugging Face keys, so loading and saving are the usual loops; the tied decoder keys
 * (cls.predictions.decoder.weight ...) are aliases, never parameters.
 *
 * The head names and the encoder walk below switch on the family: a new family (ELECTRA, say)
 * adds its case here as well as its record in shared/model-families.ts and its model file.
 */
import { tf } from '../tf';
import type { Activation, ModelConfig } from '../../hf/config';
import type { ModelFamily as ModelType } from '../../../shared/model-families';
import { activate, type BatchTensors, type ForwardContext, type ForwardTrace, LayerNorm, Linear, runLayers } from '../models/layers';
import { createModel, type SequenceClassifier } from '../models/index';
import type { BertForSequenceClassification } from '../models/bert';
import type { RobertaForSequenceClassification } from '../models/roberta';
import type { DistilBertForSequenceClassification } from '../models/distilbert';
import type { AlbertForSequenceClassification } from '../models/albert';
import type { WordPositionTypeEmbeddings } from '../models/base';
import type { HostInputs, HostRuntime } from '../models/host';

export const MLM_ARCHITECTURES: Record<ModelType, string> = {
  bert: 'BertForMaskedLM',
  roberta: 'RobertaForMaskedLM',
  distilbert: 'DistilBertForMaskedLM',
  albert: 'AlbertForMaskedLM',
};

/** One batch for the masked-LM objective: the model inputs plus the flat positions that carry a label. */
export interface MlmBatchTensors extends BatchTensors {
  /** Flat [B*T] row index of every target (label != -100), row-major; [n] int32. */
  targetIndex: tf.Tensor1D;
  /** Number of targets (n). */
  targets: number;
}

export function isMlmBatch(b: BatchTensors): b is MlmBatchTensors {
  return (b as Partial<MlmBatchTensors>).targetIndex !== undefined;
}

/** The head's names and shape per family (transformers' modeling_*.py). */
export interface MlmHeadSpec {
  dense: string;
  norm: string;
  /** The vocabulary bias (the decoder bias is tied to it, except DistilBERT's own vocab_projector.bias). */
  bias: string;
  /** The tied decoder keys a checkpoint may carry, and the parameter each one is. */
  tied: Record<string, string>;
  /** Output width of the head transform (embedding_size for ALBERT). */
  width: number;
  act: Activation;
  eps: number;
}

export function wordEmbeddingName(modelType: ModelType): string {
  return `${modelType}.embeddings.word_embeddings.weight`;
}

export function mlmHeadSpec(config: ModelConfig): MlmHeadSpec {
  const word = wordEmbeddingName(config.modelType);
  switch (config.modelType) {
    case 'bert':
      return {
        dense: 'cls.predictions.transform.dense',
        norm: 'cls.predictions.transform.LayerNorm',
        bias: 'cls.predictions.bias',
        tied: { 'cls.predictions.decoder.weight': word, 'cls.predictions.decoder.bias': 'cls.predictions.bias' },
        width: config.hiddenSize,
        act: config.hiddenAct,
        eps: config.layerNormEps,
      };
    case 'roberta':
      return {
        dense: 'lm_head.dense',
        norm: 'lm_head.layer_norm',
        bias: 'lm_head.bias',
        tied: { 'lm_head.decoder.weight': word, 'lm_head.decoder.bias': 'lm_head.bias' },
        width: config.hiddenSize,
        act: 'gelu',
        eps: config.layerNormEps,
      };
    case 'distilbert':
      return {
        dense: 'vocab_transform',
        norm: 'vocab_layer_norm',
        bias: 'vocab_projector.bias',
        tied: { 'vocab_projector.weight': word },
        width: config.hiddenSize,
        act: config.hiddenAct,
        eps: 1e-12,
      };
    case 'albert':
      return {
        dense: 'predictions.dense',
        norm: 'predictions.LayerNorm',
        bias: 'predictions.bias',
        tied: { 'predictions.decoder.weight': word, 'predictions.decoder.bias': 'predictions.bias' },
        width: config.embeddingSize,
        act: config.hiddenAct,
        eps: config.layerNormEps,
      };
  }
}

/**
 * Embedding lookup with torch's padding_idx semantics: the rows read at `padId` get no gradient
 * from the lookup (in masked LM a random replacement can put the pad id at a real position; the
 * tied decoder still gives the pad row its own gradient).
 */
export function lookupWithPaddingIdx(table: tf.Variable, ids: tf.Tensor1D, padId: number | undefined): tf.Tensor2D {
  if (padId === undefined) return tf.gather(table, ids) as tf.Tensor2D;
  const rows = table.shape[0]!;
  const op = tf.customGrad((...inputs) => ({
    value: tf.gather(inputs[0] as tf.Tensor, ids) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor) => {
      const keep = tf.expandDims(tf.cast(tf.notEqual(ids, padId), 'float32'), 1);
      return tf.unsortedSegmentSum(tf.mul(dy, keep), ids, rows);
    },
  }));
  return op(table) as tf.Tensor2D;
}

export class MaskedLanguageModel implements SequenceClassifier {
  readonly config: ModelConfig;
  /** The family's model, whose encoder modules this model runs (its pooler and classifier are not parameters here). */
  readonly base: SequenceClassifier;
  readonly head: MlmHeadSpec;
  readonly transform: Linear;
  readonly norm: LayerNorm;
  /** The masked-LM head: the parameters a checkpoint without them gets initialised like transformers. */
  readonly headParams: readonly string[];
  readonly wordEmbedding: string;

  constructor(config: ModelConfig) {
    this.config = config;
    this.base = createModel(config);
    const store = this.base.store;
    // *ForMaskedLM builds the base model without a pooler (add_pooling_layer=False) and has no
    // classifier: those modules stay on the family object, unused, and are not parameters here.
    for (const name of this.base.headParams) store.specs.delete(name);
    this.head = mlmHeadSpec(config);
    const hidden = config.hiddenSize;
    this.transform = new Linear(store, this.head.dense, hidden, this.head.width);
    this.norm = new LayerNorm(store, this.head.norm, this.head.width, this.head.eps);
    store.declare({ name: this.head.bias, shape: [config.vocabSize], kind: 'bias' });
    this.headParams = [this.transform.weight, this.transform.bias, this.norm.weight, this.norm.bias, this.head.bias];
    this.wordEmbedding = wordEmbeddingName(config.modelType);
    if (!store.specs.has(this.wordEmbedding)) throw new Error(`the ${config.modelType} model has no ${this.wordEmbedding}`);
  }

  get store() {
    return this.base.store;
  }

  get basePrefix(): string {
    return this.base.basePrefix;
  }

  /** Encoder output [B*T, hidden]: the family's embeddings and layers, as its classifier runs them. */
  encode(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    const c = this.config;
    const word = lookupWithPaddingIdx(this.store.get(this.wordEmbedding), batch.inputIds, c.padTokenId);
    switch (c.modelType) {
      case 'bert':
      case 'roberta': {
        const m = this.base as BertForSequenceClassification | RobertaForSequenceClassification;
        let x = this.embed(m.embeddings, word, batch, ctx);
        if (trace) trace.embeddings = tf.keep(x);
        x = runLayers(m.layers, x, batch, ctx, trace);
        return x;
      }
      case 'distilbert': {
        const m = this.base as DistilBertForSequenceClassification;
        let x = tf.add(word, m.position.apply(batch.positionIds)) as tf.Tensor2D;
        x = ctx.dropout(m.norm.apply(x, ctx), c.hiddenDropout) as tf.Tensor2D;
        if (trace) trace.embeddings = tf.keep(x);
        return runLayers(m.layers, x, batch, ctx, trace);
      }
      case 'albert': {
        const m = this.base as AlbertForSequenceClassification;
        let x = this.embed(m.embeddings, word, batch, ctx);
        if (trace) trace.embeddings = tf.keep(x);
        x = m.mappingIn.apply(x);
        if (trace) trace.embeddingsProjected = tf.keep(x);
        const perGroup = c.numHiddenLayers / c.numHiddenGroups;
        for (let i = 0; i < c.numHiddenLayers; i++) {
          x = runLayers(m.groups[Math.floor(i / perGroup)]!, x, batch, ctx);
          if (trace) trace.layers.push(tf.keep(x));
        }
        return x;
      }
    }
  }

  /** WordPositionTypeEmbeddings.apply with the padding_idx-aware word lookup: (word + type) + position, LayerNorm, dropout. */
  private embed(e: WordPositionTypeEmbeddings, word: tf.Tensor2D, batch: BatchTensors, ctx: ForwardContext): tf.Tensor2D {
    let x: tf.Tensor2D = word;
    if (e.tokenType && batch.tokenTypeIds) x = tf.add(x, e.tokenType.apply(batch.tokenTypeIds));
    x = tf.add(x, e.position.apply(batch.positionIds));
    return ctx.dropout(e.norm.apply(x, ctx), this.config.hiddenDropout) as tf.Tensor2D;
  }

  /** The head transform: LayerNorm(act(dense(x))), [N, width]. */
  headTransform(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return this.norm.apply(activate(this.transform.apply(x), this.head.act, ctx.kernels) as tf.Tensor2D, ctx);
  }

  /** The tied decoder: h E^T + b, [N, vocab]. */
  decode(h: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: h, b: this.store.get(this.wordEmbedding), transposeB: true, bias: this.store.get(this.head.bias) }) as tf.Tensor2D;
  }

  /**
   * Vocabulary logits: at the targets of an MLM batch ([n, vocab], row-major target order: the
   * loss only reads these), otherwise at every position ([B*T, vocab]).
   */
  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    let x = this.encode(batch, ctx, trace);
    if (isMlmBatch(batch)) x = tf.gather(x, batch.targetIndex) as tf.Tensor2D;
    const h = this.headTransform(x, ctx);
    if (trace) trace.pooled = tf.keep(h);
    return this.decode(h);
  }

  /** Eval-mode logits as a flat array (the tfjs path on every backend; no host kernels for the head). */
  logitsHost(_rt: HostRuntime, _inp: HostInputs): Float32Array {
    throw new Error('masked-LM logits run on the tfjs path (MaskedLanguageModel.logits)');
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** Builds the masked LM of a config (parameters declared, none loaded yet). */
export function createMaskedLm(config: ModelConfig): MaskedLanguageModel {
  return new MaskedLanguageModel(config);
}
