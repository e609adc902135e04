/**
 * BertForSequenceClassification (also the small Google BERTs): embeddings, post-LN encoder,
 * pooler tanh(dense(h[CLS])), dropout, classifier. Parameter names as in transformers.
 */
import { tf } from '../tf';
import { FAMILIES } from '../../../shared/model-families';
import type { ModelConfig } from '../../hf/config';
import { type BatchTensors, type ForwardContext, type ForwardTrace, Linear, ParamStore, TransformerLayer } from './layers';
import { firstTokens, headHost, type SequenceClassifier, WordPositionTypeEmbeddings } from './base';
import type { HostInputs, HostRuntime } from './host';
import { runLayers, runLayersHost } from './layers';

export function bertLayer(store: ParamStore, prefix: string, config: ModelConfig): TransformerLayer {
  return new TransformerLayer(
    store,
    {
      attention: {
        query: `${prefix}.attention.self.query`,
        key: `${prefix}.attention.self.key`,
        value: `${prefix}.attention.self.value`,
        output: `${prefix}.attention.output.dense`,
      },
      attentionNorm: `${prefix}.attention.output.LayerNorm`,
      ffnIn: `${prefix}.intermediate.dense`,
      ffnOut: `${prefix}.output.dense`,
      outputNorm: `${prefix}.output.LayerNorm`,
    },
    {
      hidden: config.hiddenSize,
      heads: config.numAttentionHeads,
      intermediate: config.intermediateSize,
      act: config.hiddenAct,
      eps: config.layerNormEps,
      hiddenDropout: config.hiddenDropout,
      attentionDropout: config.attentionDropout,
      dropoutAfterAttention: true,
      dropoutAfterFfn: true,
    },
  );
}

export class BertForSequenceClassification implements SequenceClassifier {
  readonly store = new ParamStore();
  readonly basePrefix = FAMILIES.bert.basePrefix;
  readonly embeddings: WordPositionTypeEmbeddings;
  readonly layers: TransformerLayer[];
  readonly pooler: Linear;
  readonly classifier: Linear;
  readonly headParams: readonly string[];

  constructor(readonly config: ModelConfig) {
    this.embeddings = new WordPositionTypeEmbeddings(this.store, 'bert.embeddings', config, config.hiddenSize);
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, i) => bertLayer(this.store, `bert.encoder.layer.${i}`, config));
    this.pooler = new Linear(this.store, 'bert.pooler.dense', config.hiddenSize, config.hiddenSize);
    this.classifier = new Linear(this.store, 'classifier', config.hiddenSize, config.numLabels);
    this.headParams = [this.pooler.weight, this.pooler.bias, this.classifier.weight, this.classifier.bias];
  }

  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    let x = this.embeddings.apply(batch, ctx, this.config.hiddenDropout);
    if (trace) trace.embeddings = tf.keep(x);
    x = runLayers(this.layers, x, batch, ctx, trace);
    const pooled = tf.tanh(this.pooler.apply(firstTokens(x, batch)));
    if (trace) trace.pooled = tf.keep(pooled);
    return this.classifier.apply(ctx.dropout(pooled, this.config.classifierDropout) as tf.Tensor2D);
  }

  logitsHost(rt: HostRuntime, inp: HostInputs): Float32Array {
    const h = this.config.hiddenSize;
    const x = rt.buf('hidden_a', inp.inputIds.length * h);
    this.embeddings.applyHost(rt, inp, x);
    const out = runLayersHost(rt, this.layers, x, inp, h);
    return headHost(rt, out, inp, h, { dense: this.pooler, activation: 'Tanh', projection: this.classifier });
  }
}
