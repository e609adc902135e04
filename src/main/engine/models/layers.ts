/**
 * The building blocks every family shares, each owning parameters under its Hugging Face name
 * (a Linear at "bert.pooler.dense" owns "bert.pooler.dense.weight" [out, in] and ".bias").
 * Activations are 2-D [tokens, features]; attention reshapes to [batch, heads, time, head_dim].
 */
import { tf } from '../tf';
import type { Activation } from '../../hf/config';
import * as ops from '../ops';
import type { Kernels } from '../kernels';
import type { HostInputs, HostRuntime } from './host';
import type { NativeActivation } from '../native/index';
import { mixSeed, Rng } from '../rng';

export type ParamKind = 'linear-weight' | 'bias' | 'norm-weight' | 'norm-bias' | 'embedding';

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
  /** For embeddings: the row that transformers keeps at zero (padding_idx). */
  paddingIdx?: number;
}

/** Owns the tf.Variables of one model, keyed by Hugging Face parameter name. */
export class ParamStore {
  private static nextId = 0;
  readonly specs = new Map<string, ParamSpec>();
  readonly vars = new Map<string, tf.Variable>();
  private readonly prefix = `m${ParamStore.nextId++}/`;

  declare(spec: ParamSpec): void {
    if (this.specs.has(spec.name)) throw new Error(`parameter ${spec.name} declared twice`);
    this.specs.set(spec.name, spec);
  }

  /** Creates (or replaces) the variable of a declared parameter from float32 values. */
  set(name: string, values: Float32Array): void {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`unknown parameter ${name}`);
    const old = this.vars.get(name);
    const t = tf.tensor(values, spec.shape, 'float32');
    if (old) {
      old.assign(t);
      t.dispose();
    } else {
      this.vars.set(name, tf.variable(t, true, this.prefix + name));
      t.dispose();
    }
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`parameter ${name} has no value (not loaded)`);
    return v;
  }

  /** Variable name -> HF name (tf.variableGrads keys gradients by variable name). */
  hfName(variableName: string): string {
    return variableName.startsWith(this.prefix) ? variableName.slice(this.prefix.length) : variableName;
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  /** Initialises one parameter like transformers' _init_weights. */
  initialise(name: string, rng: Rng, std: number): void {
    const spec = this.specs.get(name)!;
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (spec.kind === 'linear-weight' || spec.kind === 'embedding') {
      for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
      if (spec.kind === 'embedding' && spec.paddingIdx !== undefined && spec.paddingIdx < spec.shape[0]!) {
        const width = spec.shape[1]!;
        values.fill(0, spec.paddingIdx * width, (spec.paddingIdx + 1) * width);
      }
    } else if (spec.kind === 'norm-weight') {
      values.fill(1);
    }
    this.set(name, values);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Per-forward state: training flag, the dropout seed stream, and the backend's kernels the layers use. */
export class ForwardContext {
  private counter = 0;
  constructor(
    readonly training: boolean,
    private readonly seed: number,
    readonly kernels: Kernels,
  ) {}

  /** Dropout as torch.nn.Dropout: zero with probability rate, scale the rest by 1/(1-rate). */
  dropout(x: tf.Tensor, rate: number): tf.Tensor {
    if (!this.training || rate <= 0) return x;
    return ops.dropout(x, rate, mixSeed(this.seed, this.counter++), this.kernels);
  }
}

export class Linear {
  readonly weight: string;
  readonly bias: string;
  constructor(
    private readonly store: ParamStore,
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    this.weight = `${name}.weight`;
    this.bias = `${name}.bias`;
    // HF layout [out, in]: y = x W^T + b, so matMul transposes W (transposeB) instead of the data.
    store.declare({ name: this.weight, shape: [outFeatures, inFeatures], kind: 'linear-weight' });
    store.declare({ name: this.bias, shape: [outFeatures], kind: 'bias' });
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.store.get(this.weight), transposeB: true, bias: this.store.get(this.bias) }) as tf.Tensor2D;
  }

  /** Host forward: out = act(x W^T + b (plus out itself when accumulate: a residual already in out)). */
  applyHost(rt: HostRuntime, x: Float32Array, rows: number, out: Float32Array, accumulate = false, activation: NativeActivation = 'linear'): void {
    rt.linear(x, rows, rt.weight(this.store.get(this.weight)), rt.weight(this.store.get(this.bias)), this.inFeatures, this.outFeatures, out, accumulate, activation);
  }
}

export class LayerNorm {
  readonly weight: string;
  readonly bias: string;
  constructor(
    private readonly store: ParamStore,
    readonly name: string,
    readonly size: number,
    readonly eps: number,
  ) {
    this.weight = `${name}.weight`;
    this.bias = `${name}.bias`;
    store.declare({ name: this.weight, shape: [size], kind: 'norm-weight' });
    store.declare({ name: this.bias, shape: [size], kind: 'norm-bias' });
  }

  /** torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root. */
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return ops.layerNorm(x, this.store.get(this.weight), this.store.get(this.bias), this.eps, ctx.kernels) as tf.Tensor2D;
  }

  applyHost(rt: HostRuntime, x: Float32Array, rows: number, out: Float32Array): void {
    rt.addon.layerNorm(x, rt.weight(this.store.get(this.weight)), rt.weight(this.store.get(this.bias)), rows, this.size, this.eps, out);
  }
}

export class Embedding {
  readonly weight: string;
  constructor(
    private readonly store: ParamStore,
    readonly name: string,
    readonly rows: number,
    readonly width: number,
    paddingIdx?: number,
  ) {
    this.weight = `${name}.weight`;
    store.declare({ name: this.weight, shape: [rows, width], kind: 'embedding', paddingIdx });
  }

  /** Rows for flat int32 ids: [N] -> [N, width]. */
  apply(ids: tf.Tensor1D): tf.Tensor2D {
    return tf.gather(this.store.get(this.weight), ids) as tf.Tensor2D;
  }

  applyHost(rt: HostRuntime, ids: Int32Array, out: Float32Array): void {
    rt.addon.gatherRows(rt.weight(this.store.get(this.weight)), this.rows, this.width, ids, out);
  }
}

/** The activations of transformers/activations.py that these families use. */
export function activate(x: tf.Tensor, act: Activation, kernels: Kernels): tf.Tensor {
  switch (act) {
    case 'gelu':
    case 'gelu_python':
      // Exact erf GELU (torch.nn.functional.gelu).
      return ops.geluErf(x, kernels);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return ops.geluTanh(x, kernels);
    case 'gelu_fast':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.mul(x, 0.7978845608), tf.add(1, tf.mul(tf.mul(x, x), 0.044715))))));
    case 'quick_gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case 'relu':
      return tf.relu(x);
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
  }
}

/** The GEMM epilogue that computes an activation, or null when it has none (then tfjs is used). */
export function epilogueActivation(act: Activation): NativeActivation | null {
  switch (act) {
    case 'gelu':
    case 'gelu_python':
      return 'gelu';
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return 'gelu_new';
    case 'relu':
      return 'relu';
    case 'sigmoid':
      return 'sigmoid';
    case 'linear':
      return 'linear';
    default:
      return null;
  }
}

/** Input tensors of one (padded) batch. */
export interface BatchTensors {
  batchSize: number;
  seqLen: number;
  /** [B*T] int32. */
  inputIds: tf.Tensor1D;
  /** [B*T] int32. */
  positionIds: tf.Tensor1D;
  /** [B*T] int32, or null for families without token types. */
  tokenTypeIds: tf.Tensor1D | null;
  /** [B, 1, 1, T]: 0 for real keys, float32 min for padding. */
  additiveMask: tf.Tensor4D;
  /** Row index of each sequence's first token in the flat [B*T] layout. */
  clsIndex: tf.Tensor1D;
}

export interface AttentionNames {
  query: string;
  key: string;
  value: string;
  output: string;
}

/** Multi-head self-attention as transformers' eager attention: contiguous head slices, scaled scores + mask, softmax over keys. */
export class SelfAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  constructor(
    store: ParamStore,
    names: AttentionNames,
    readonly hidden: number,
    readonly heads: number,
    readonly probsDropout: number,
  ) {
    this.q = new Linear(store, names.query, hidden, hidden);
    this.k = new Linear(store, names.key, hidden, hidden);
    this.v = new Linear(store, names.value, hidden, hidden);
    this.out = new Linear(store, names.output, hidden, hidden);
  }

  /** x: [B*T, H] -> context projected by the output Linear, [B*T, H]. */
  apply(x: tf.Tensor2D, batch: BatchTensors, ctx: ForwardContext): tf.Tensor2D {
    const { batchSize: b, seqLen: t } = batch;
    const d = this.hidden / this.heads;
    const split = (y: tf.Tensor2D): tf.Tensor3D =>
      tf.reshape(tf.transpose(tf.reshape(y, [b, t, this.heads, d]), [0, 2, 1, 3]), [b * this.heads, t, d]);
    const q = split(this.q.apply(x));
    const k = split(this.k.apply(x));
    const v = split(this.v.apply(x));
    let probs: tf.Tensor = ops.attentionSoftmax(tf.matMul(q, k, false, true), batch.additiveMask, d ** -0.5, this.heads, ctx.kernels);
    probs = ctx.dropout(probs, this.probsDropout);
    const context = tf.matMul(tf.reshape(probs, [b * this.heads, t, t]) as tf.Tensor3D, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(context, [b, this.heads, t, d]), [0, 2, 1, 3]), [b * t, this.hidden]);
    return this.out.apply(merged as tf.Tensor2D);
  }

  /** Host forward; out must hold the residual (x): out = x + attention(x). */
  applyHost(rt: HostRuntime, x: Float32Array, inp: HostInputs, out: Float32Array): void {
    const { batchSize: b, seqLen: t } = inp;
    const h = this.hidden;
    const nh = this.heads;
    const d = h / nh;
    const n = b * t;
    const a = rt.addon;
    const heads = (name: string, lin: Linear): Float32Array => {
      const flat = rt.buf(name, n * h);
      lin.applyHost(rt, x, n, flat);
      const split = rt.buf(`${name}h`, n * h);
      a.transpose(flat, [b, t, nh, d], [0, 2, 1, 3], split);
      return split;
    };
    const q = heads('q', this.q);
    const k = heads('k', this.k);
    const v = heads('v', this.v);
    // scores start as the mask of each sequence's keys; the GEMM adds (q k^T) / sqrt(d).
    const scores = rt.buf('scores', b * nh * t * t);
    for (let bi = 0; bi < b; bi++) {
      const maskRow = inp.mask.subarray(bi * t, (bi + 1) * t);
      for (let r = 0; r < nh * t; r++) scores.set(maskRow, (bi * nh * t + r) * t);
    }
    a.gemm(q, [b * nh], k, [b * nh], scores, false, true, t, t, d, d ** -0.5, 1, null, 'linear', 0, null);
    const probs = rt.buf('probs', b * nh * t * t);
    a.softmax(scores, b * nh * t, t, probs);
    const ctxh = rt.buf('ctxh', n * h);
    a.gemm(probs, [b * nh], v, [b * nh], ctxh, false, false, t, d, t, 1, 0, null, 'linear', 0, null);
    const ctx = rt.buf('ctx', n * h);
    a.transpose(ctxh, [b, nh, t, d], [0, 2, 1, 3], ctx);
    this.out.applyHost(rt, ctx, n, out, true);
  }
}

export interface LayerNames {
  attention: AttentionNames;
  attentionNorm: string;
  ffnIn: string;
  ffnOut: string;
  outputNorm: string;
}

export interface LayerOptions {
  hidden: number;
  heads: number;
  intermediate: number;
  act: Activation;
  eps: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout after the attention output projection (BERT, ALBERT: yes; DistilBERT: no). */
  dropoutAfterAttention: boolean;
  /** Dropout after the feed-forward output (BERT, DistilBERT: yes; ALBERT: no). */
  dropoutAfterFfn: boolean;
}

/** A post-LN transformer layer: a = LN(x + attn(x)); out = LN(a + ffn(a)). */
export class TransformerLayer {
  readonly attention: SelfAttention;
  readonly attentionNorm: LayerNorm;
  readonly ffnIn: Linear;
  readonly ffnOut: Linear;
  readonly outputNorm: LayerNorm;

  constructor(
    store: ParamStore,
    names: LayerNames,
    readonly opts: LayerOptions,
  ) {
    this.attention = new SelfAttention(store, names.attention, opts.hidden, opts.heads, opts.attentionDropout);
    this.attentionNorm = new LayerNorm(store, names.attentionNorm, opts.hidden, opts.eps);
    this.ffnIn = new Linear(store, names.ffnIn, opts.hidden, opts.intermediate);
    this.ffnOut = new Linear(store, names.ffnOut, opts.intermediate, opts.hidden);
    this.outputNorm = new LayerNorm(store, names.outputNorm, opts.hidden, opts.eps);
  }

  apply(x: tf.Tensor2D, batch: BatchTensors, ctx: ForwardContext): tf.Tensor2D {
    let attn = this.attention.apply(x, batch, ctx);
    if (this.opts.dropoutAfterAttention) attn = ctx.dropout(attn, this.opts.hiddenDropout) as tf.Tensor2D;
    const a = this.attentionNorm.apply(tf.add(x, attn), ctx);
    let f = this.ffnOut.apply(activate(this.ffnIn.apply(a), this.opts.act, ctx.kernels) as tf.Tensor2D);
    if (this.opts.dropoutAfterFfn) f = ctx.dropout(f, this.opts.hiddenDropout) as tf.Tensor2D;
    return this.outputNorm.apply(tf.add(f, a), ctx);
  }

  /** Host forward (eval mode: no dropout); x and out must be different buffers. */
  applyHost(rt: HostRuntime, x: Float32Array, inp: HostInputs, out: Float32Array): void {
    const n = inp.batchSize * inp.seqLen;
    const { hidden, intermediate } = this.opts;
    const attnRes = rt.buf('attn_res', n * hidden);
    attnRes.set(x);
    this.attention.applyHost(rt, x, inp, attnRes);
    const a = rt.buf('a', n * hidden);
    this.attentionNorm.applyHost(rt, attnRes, n, a);
    const epilogue = epilogueActivation(this.opts.act);
    if (!epilogue) throw new Error(`no native kernel for the activation ${this.opts.act}`);
    const act = rt.buf('ffn_act', n * intermediate);
    this.ffnIn.applyHost(rt, a, n, act, false, epilogue);
    const ffnRes = rt.buf('ffn_res', n * hidden);
    ffnRes.set(a);
    this.ffnOut.applyHost(rt, act, n, ffnRes, true);
    this.outputNorm.applyHost(rt, ffnRes, n, out);
  }
}

/** Runs layers in order; with a trace, keeps each layer's output. */
export function runLayers(layers: readonly TransformerLayer[], x: tf.Tensor2D, batch: BatchTensors, ctx: ForwardContext, trace?: ForwardTrace): tf.Tensor2D {
  let h = x;
  for (const layer of layers) {
    h = layer.apply(h, batch, ctx);
    if (trace) trace.layers.push(tf.keep(h));
  }
  return h;
}

/** Runs layers on host buffers, alternating two buffers; returns the one holding the result. */
export function runLayersHost(rt: HostRuntime, layers: readonly TransformerLayer[], x: Float32Array, inp: HostInputs, width: number): Float32Array {
  const n = inp.batchSize * inp.seqLen;
  let cur = x;
  layers.forEach((layer, i) => {
    const next = rt.buf(i % 2 === 0 ? 'hidden_b' : 'hidden_a', n * width);
    layer.applyHost(rt, cur, inp, next);
    cur = next;
  });
  return cur;
}

/** What the families return: logits plus, for tests, the intermediate states. */
export interface ForwardTrace {
  embeddings?: tf.Tensor2D;
  embeddingsProjected?: tf.Tensor2D;
  layers: tf.Tensor2D[];
  pooled?: tf.Tensor2D;
}
