/**
 * AlbertForSequenceClassification: factorised embeddings (LayerNorm at embedding_size, then
 * embedding_hidden_mapping_in), layer groups whose weights are shared across the layers that
 * use them (layer i runs group floor(i / (L / G))), pooler tanh(albert.pooler(h[CLS])),
 * dropout (classifier_dropout_prob), classifier.
 */
import { tf } from '../tf';
import { FAMILIES } from '../../../shared/model-families';
import type { ModelConfig } from '../../hf/config';
import { type BatchTensors, type ForwardContext, type ForwardTrace, Linear, ParamStore, TransformerLayer } from './layers';
import { firstTokens, headHost, type SequenceClassifier, WordPositionTypeEmbeddings } from './base';
import type { HostInputs, HostRuntime } from './host';
import { runLayers, runLayersHost } from './layers';

export class AlbertForSequenceClassification implements SequenceClassifier {
  readonly store = new ParamStore();
  readonly basePrefix = FAMILIES.albert.basePrefix;
  readonly embeddings: WordPositionTypeEmbeddings;
  readonly mappingIn: Linear;
  /** groups[g][j]: the j-th inner layer of group g. */
  readonly groups: TransformerLayer[][];
  readonly pooler: Linear;
  readonly classifier: Linear;
  readonly headParams: readonly string[];

  constructor(readonly config: ModelConfig) {
    const s = this.store;
    this.embeddings = new WordPositionTypeEmbeddings(s, 'albert.embeddings', config, config.embeddingSize);
    this.mappingIn = new Linear(s, 'albert.encoder.embedding_hidden_mapping_in', config.embeddingSize, config.hiddenSize);
    this.groups = Array.from({ length: config.numHiddenGroups }, (_, g) =>
      Array.from({ length: config.innerGroupNum }, (_, j) => {
        const p = `albert.encoder.albert_layer_groups.${g}.albert_layers.${j}`;
        return new TransformerLayer(
          s,
          {
            attention: { query: `${p}.attention.query`, key: `${p}.attention.key`, value: `${p}.attention.value`, output: `${p}.attention.dense` },
            attentionNorm: `${p}.attention.LayerNorm`,
            ffnIn: `${p}.ffn`,
            ffnOut: `${p}.ffn_output`,
            outputNorm: `${p}.full_layer_layer_norm`,
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
            dropoutAfterFfn: false,
          },
        );
      }),
    );
    this.pooler = new Linear(s, 'albert.pooler', config.hiddenSize, config.hiddenSize);
    this.classifier = new Linear(s, 'classifier', config.hiddenSize, config.numLabels);
    this.headParams = [this.pooler.weight, this.pooler.bias, this.classifier.weight, this.classifier.bias];
  }

  logits(batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
    const c = this.config;
    let x = this.embeddings.apply(batch, ctx, c.hiddenDropout);
    if (trace) trace.embeddings = tf.keep(x);
    x = this.mappingIn.apply(x);
    if (trace) trace.embeddingsProjected = tf.keep(x);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      // The trace records each application of a group (the golden hidden states do the same).
      x = runLayers(this.groupOf(i), x, batch, ctx);
      if (trace) trace.layers.push(tf.keep(x));
    }
    const pooled = tf.tanh(this.pooler.apply(firstTokens(x, batch)));
    if (trace) trace.pooled = tf.keep(pooled);
    return this.classifier.apply(ctx.dropout(pooled, c.classifierDropout) as tf.Tensor2D);
  }

  /** The layer group that application i runs: floor(i / (L / G)) (weights shared across applications). */
  private groupOf(i: number): TransformerLayer[] {
    const c = this.config;
    return this.groups[Math.floor(i / (c.numHiddenLayers / c.numHiddenGroups))]!;
  }

  /** The layers in the order they run. */
  private layerSequence(): TransformerLayer[] {
    return Array.from({ length: this.config.numHiddenLayers }, (_, i) => this.groupOf(i)).flat();
  }

  logitsHost(rt: HostRuntime, inp: HostInputs): Float32Array {
    const c = this.config;
    const n = inp.inputIds.length;
    const emb = rt.buf('emb_out', n * c.embeddingSize);
    this.embeddings.applyHost(rt, inp, emb);
    const x = rt.buf('hidden_a', n * c.hiddenSize);
    this.mappingIn.applyHost(rt, emb, n, x);
    const out = runLayersHost(rt, this.layerSequence(), x, inp, c.hiddenSize);
    return headHost(rt, out, inp, c.hiddenSize, { dense: this.pooler, activation: 'Tanh', projection: this.classifier });
  }
}
