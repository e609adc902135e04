/** The interface every family implements, and the embedding block BERT, RoBERTa and ALBERT share. */
import { tf } from '../tf';
import type { ModelConfig } from '../../hf/config';
import { type BatchTensors, Embedding, type ForwardContext, type ForwardTrace, LayerNorm, ParamStore } from './layers';
import type { HostInputs, HostRuntime } from './host';

export interface SequenceClassifier {
  readonly config: ModelConfig;
  readonly store: ParamStore;
  /** Checkpoint prefix of the base model ("bert", "roberta", "distilbert", "albert"). */
  readonly basePrefix: string;
  /** Parameters trained in quick mode (frozen encoder): the head, pooler included. */
  readonly headParams: readonly string[];
  /** Logits [B, num_labels]; with a trace, also records intermediate states (kept, caller disposes). */
  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D;
  /** The same logits in eval mode on host arrays (native backend), as a new [B * num_labels] array. */
  logitsHost(rt: HostRuntime, inp: HostInputs): Float32Array;
}

/** a += b, elementwise. */
export function addInto(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}

/** word + token type + position embeddings, LayerNorm, dropout (BERT, RoBERTa, ALBERT). */
export class WordPositionTypeEmbeddings {
  readonly word: Embedding;
  readonly position: Embedding;
  readonly tokenType: Embedding | null;
  readonly norm: LayerNorm;

  constructor(store: ParamStore, prefix: string, config: ModelConfig, width: number, positionPaddingIdx?: number) {
    this.word = new Embedding(store, `${prefix}.word_embeddings`, config.vocabSize, width, config.padTokenId);
    this.position = new Embedding(store, `${prefix}.position_embeddings`, config.maxPositionEmbeddings, width, positionPaddingIdx);
    this.tokenType = config.typeVocabSize > 0 ? new Embedding(store, `${prefix}.token_type_embeddings`, config.typeVocabSize, width) : null;
    this.norm = new LayerNorm(store, `${prefix}.LayerNorm`, width, config.layerNormEps);
  }

  apply(batch: BatchTensors, ctx: ForwardContext, dropout: number): tf.Tensor2D {
    let x = this.word.apply(batch.inputIds);
    if (this.tokenType && batch.tokenTypeIds) x = tf.add(x, this.tokenType.apply(batch.tokenTypeIds));
    x = tf.add(x, this.position.apply(batch.positionIds));
    return ctx.dropout(this.norm.apply(x, ctx), dropout) as tf.Tensor2D;
  }

  /** Host forward into `out` ([B*T, width]). */
  applyHost(rt: HostRuntime, inp: HostInputs, out: Float32Array): void {
    const n = inp.inputIds.length;
    const width = this.word.width;
    const sum = rt.buf('emb_sum', n * width);
    const part = rt.buf('emb_part', n * width);
    this.word.applyHost(rt, inp.inputIds, sum);
    if (this.tokenType && inp.tokenTypeIds) {
      this.tokenType.applyHost(rt, inp.tokenTypeIds, part);
      addInto(sum, part);
    }
    this.position.applyHost(rt, inp.positionIds, part);
    addInto(sum, part);
    this.norm.applyHost(rt, sum, n, out);
  }
}

export interface HostHead {
  /** dense -> activation -> projection, on the first token's row. */
  dense: { applyHost(rt: HostRuntime, x: Float32Array, rows: number, out: Float32Array): void; outFeatures: number };
  activation: 'Tanh' | 'Relu';
  projection: { applyHost(rt: HostRuntime, x: Float32Array, rows: number, out: Float32Array): void; outFeatures: number };
}

/** The classification head on host arrays: first-token rows, dense, activation, projection. */
export function headHost(rt: HostRuntime, x: Float32Array, inp: HostInputs, width: number, head: HostHead): Float32Array {
  const b = inp.batchSize;
  const n = b * inp.seqLen;
  const cls = rt.buf('cls', b * width);
  rt.addon.gatherRows(x, n, width, inp.clsIndex, cls);
  const dense = rt.buf('pooled', b * head.dense.outFeatures);
  head.dense.applyHost(rt, cls, b, dense);
  rt.addon.unary(head.activation, dense, dense, 0);
  const logits = new Float32Array(b * head.projection.outFeatures);
  head.projection.applyHost(rt, dense, b, logits);
  return logits;
}

/** Rows of the first token of each sequence: [B*T, H] -> [B, H]. */
export function firstTokens(x: tf.Tensor2D, batch: BatchTensors): tf.Tensor2D {
  return tf.gather(x, batch.clsIndex) as tf.Tensor2D;
}
