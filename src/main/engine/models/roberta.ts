/**
 * RobertaForSequenceClassification: BERT's encoder with positions counted from pad_id + 1, no
 * pooler (a checkpoint's roberta.pooler.* is ignored), and a head of dropout, dense, tanh,
 * dropout, out_proj on the <s> token.
 */
import { tf } from '../tf';
import { FAMILIES } from '../../../shared/model-families';
import type { ModelConfig } from '../../hf/config';
import { type BatchTensors, type ForwardContext, type ForwardTrace, Linear, ParamStore, TransformerLayer } from './layers';
import { firstTokens, headHost, type SequenceClassifier, WordPositionTypeEmbeddings } from './base';
import type { HostInputs, HostRuntime } from './host';
import { runLayers, runLayersHost } from './layers';
import { bertLayer } from './bert';

/** create_position_ids_from_input_ids: pad_id + 1, pad_id + 2... for real tokens, pad_id for pads. */
export function robertaPositionIds(ids: Int32Array, batchSize: number, seqLen: number, padId: number): Int32Array {
  const out = new Int32Array(ids.length);
  for (let b = 0; b < batchSize; b++) {
    let count = 0;
    for (let t = 0; t < seqLen; t++) {
      const i = b * seqLen + t;
      if (ids[i] !== padId) {
        count++;
        out[i] = count + padId;
      } else {
        out[i] = padId;
      }
    }
  }
  return out;
}

export class RobertaForSequenceClassification implements SequenceClassifier {
  readonly store = new ParamStore();
  readonly basePrefix = FAMILIES.roberta.basePrefix;
  readonly embeddings: WordPositionTypeEmbeddings;
  readonly layers: TransformerLayer[];
  readonly dense: Linear;
  readonly outProj: Linear;
  readonly headParams: readonly string[];

  constructor(readonly config: ModelConfig) {
    this.embeddings = new WordPositionTypeEmbeddings(this.store, 'roberta.embeddings', config, config.hiddenSize, config.padTokenId);
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, i) => bertLayer(this.store, `roberta.encoder.layer.${i}`, config));
    this.dense = new Linear(this.store, 'classifier.dense', config.hiddenSize, config.hiddenSize);
    this.outProj = new Linear(this.store, 'classifier.out_proj', config.hiddenSize, config.numLabels);
    this.headParams = [this.dense.weight, this.dense.bias, this.outProj.weight, this.outProj.bias];
  }

  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    let x = this.embeddings.apply(batch, ctx, this.config.hiddenDropout);
    if (trace) trace.embeddings = tf.keep(x);
    x = runLayers(this.layers, x, batch, ctx, trace);
    const drop = this.config.classifierDropout;
    const first = ctx.dropout(firstTokens(x, batch), drop) as tf.Tensor2D;
    const pooled = tf.tanh(this.dense.apply(first));
    if (trace) trace.pooled = tf.keep(pooled);
    return this.outProj.apply(ctx.dropout(pooled, drop) as tf.Tensor2D);
  }

  logitsHost(rt: HostRuntime, inp: HostInputs): Float32Array {
    const h = this.config.hiddenSize;
    const x = rt.buf('hidden_a', inp.inputIds.length * h);
    this.embeddings.applyHost(rt, inp, x);
    const out = runLayersHost(rt, this.layers, x, inp, h);
    return headHost(rt, out, inp, h, { dense: this.dense, activation: 'Tanh', projection: this.outProj });
  }
}
