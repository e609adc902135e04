/** The interface every family implements, and the embedding block BERT, RoBERTa and ALBERT share. */
import { tf } from '../tf';
import type { ModelConfig } from '../config';
import { type BatchTensors, Embedding, type ForwardContext, type ForwardTrace, LayerNorm, ParamStore } from './layers';

export interface SequenceClassifier {
  readonly config: ModelConfig;
  readonly store: ParamStore;
  /** Checkpoint prefix of the base model ("bert", "roberta", "distilbert", "albert"). */
  readonly basePrefix: string;
  /** Parameters trained in quick mode (frozen encoder): the head, pooler included. */
  readonly headParams: readonly string[];
  /** Logits [B, num_labels]; with a trace, also records intermediate states (kept, caller disposes). */
  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D;
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
    return ctx.dropout(this.norm.apply(x), dropout) as tf.Tensor2D;
  }
}

/** Rows of the first token of each sequence: [B*T, H] -> [B, H]. */
export function firstTokens(x: tf.Tensor2D, batch: BatchTensors): tf.Tensor2D {
  return tf.gather(x, batch.clsIndex) as tf.Tensor2D;
}
