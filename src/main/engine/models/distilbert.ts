/**
 * DistilBertForSequenceClassification: word + position embeddings (no token types), post-LN
 * blocks without dropout after the attention projection, head pre_classifier, ReLU, dropout
 * (seq_classif_dropout), classifier. LayerNorm eps is always 1e-12.
 */
import { tf } from '../tf';
import { FAMILIES } from '../../../shared/model-families';
import type { ModelConfig } from '../../hf/config';
import { type BatchTensors, Embedding, type ForwardContext, type ForwardTrace, LayerNorm, Linear, ParamStore, TransformerLayer } from './layers';
import { addInto, firstTokens, headHost, type SequenceClassifier } from './base';
import type { HostInputs, HostRuntime } from './host';
import { runLayers, runLayersHost } from './layers';

export class DistilBertForSequenceClassification implements SequenceClassifier {
  readonly store = new ParamStore();
  readonly basePrefix = FAMILIES.distilbert.basePrefix;
  readonly word: Embedding;
  readonly position: Embedding;
  readonly norm: LayerNorm;
  readonly layers: TransformerLayer[];
  readonly preClassifier: Linear;
  readonly classifier: Linear;
  readonly headParams: readonly string[];

  constructor(readonly config: ModelConfig) {
    const s = this.store;
    this.word = new Embedding(s, 'distilbert.embeddings.word_embeddings', config.vocabSize, config.hiddenSize, config.padTokenId);
    this.position = new Embedding(s, 'distilbert.embeddings.position_embeddings', config.maxPositionEmbeddings, config.hiddenSize);
    this.norm = new LayerNorm(s, 'distilbert.embeddings.LayerNorm', config.hiddenSize, 1e-12);
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, i) => {
      const p = `distilbert.transformer.layer.${i}`;
      return new TransformerLayer(
        s,
        {
          attention: { query: `${p}.attention.q_lin`, key: `${p}.attention.k_lin`, value: `${p}.attention.v_lin`, output: `${p}.attention.out_lin` },
          attentionNorm: `${p}.sa_layer_norm`,
          ffnIn: `${p}.ffn.lin1`,
          ffnOut: `${p}.ffn.lin2`,
          outputNorm: `${p}.output_layer_norm`,
        },
        {
          hidden: config.hiddenSize,
          heads: config.numAttentionHeads,
          intermediate: config.intermediateSize,
          act: config.hiddenAct,
          eps: 1e-12,
          hiddenDropout: config.hiddenDropout,
          attentionDropout: config.attentionDropout,
          dropoutAfterAttention: false,
          dropoutAfterFfn: true,
        },
      );
    });
    this.preClassifier = new Linear(s, 'pre_classifier', config.hiddenSize, config.hiddenSize);
    this.classifier = new Linear(s, 'classifier', config.hiddenSize, config.numLabels);
    this.headParams = [this.preClassifier.weight, this.preClassifier.bias, this.classifier.weight, this.classifier.bias];
  }

  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    let x = tf.add(this.word.apply(batch.inputIds), this.position.apply(batch.positionIds)) as tf.Tensor2D;
    x = ctx.dropout(this.norm.apply(x, ctx), this.config.hiddenDropout) as tf.Tensor2D;
    if (trace) trace.embeddings = tf.keep(x);
    x = runLayers(this.layers, x, batch, ctx, trace);
    const pooled = tf.relu(this.preClassifier.apply(firstTokens(x, batch)));
    if (trace) trace.pooled = tf.keep(pooled);
    return this.classifier.apply(ctx.dropout(pooled, this.config.classifierDropout) as tf.Tensor2D);
  }

  logitsHost(rt: HostRuntime, inp: HostInputs): Float32Array {
    const h = this.config.hiddenSize;
    const n = inp.inputIds.length;
    const sum = rt.buf('emb_sum', n * h);
    const part = rt.buf('emb_part', n * h);
    this.word.applyHost(rt, inp.inputIds, sum);
    this.position.applyHost(rt, inp.positionIds, part);
    addInto(sum, part);
    const x = rt.buf('hidden_a', n * h);
    this.norm.applyHost(rt, sum, n, x);
    const out = runLayersHost(rt, this.layers, x, inp, h);
    return headHost(rt, out, inp, h, { dense: this.preClassifier, activation: 'Relu', projection: this.classifier });
  }
}
