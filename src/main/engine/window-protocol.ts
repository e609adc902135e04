/**
 * Messages between the engine's client (the trainer in the utility process, or a test) and the
 * engine window: a hidden, sandboxed renderer where Chromium's WebGPU exists (Electron's main and
 * utility processes have no navigator.gpu, and Dawn's Node binding cannot load there). The window
 * holds the model, its optimizer and the GPU; files stay with the client, which sends the parsed
 * config and the weights as buffers and receives losses, gradient norms, logits and parameters;
 * for checkpoints it reads the optimizer's step and moments ('moments') and on resume sets them
 * ('restore'). Electron's main also asks a window once, at start, which WebGPU adapter Chromium
 * gives it ('adapter': systemInfo's GPU probe, and whether a run with no backend named trains in a
 * window).
 *
 * Every request carries an id; the window answers it once, with its result or with `error`.
 * ArrayBuffers are listed as transferables where the port supports it (a DOM MessagePort does;
 * Electron's MessagePortMain copies them).
 */
import type { ModelConfig } from '../hf/config';
import type { HostBatch } from './batch';

/** One float32 parameter or weight: its HF name, shape and the bytes of a Float32Array. */
export interface WireTensor {
  name: string;
  shape: number[];
  data: ArrayBuffer;
}

/** A padded batch as host arrays (batch.ts HostBatch with the buffers of its Int32Arrays), with a label per row. */
export interface WireBatch {
  batchSize: number;
  seqLen: number;
  inputIds: ArrayBuffer;
  attentionMask: ArrayBuffer;
  tokenTypeIds: ArrayBuffer;
  /** Int32 class index per row (absent for prediction). */
  labels?: ArrayBuffer;
}

/** How a micro-batch's forward runs: dropout on (training) with this seed, or off. */
export interface WireContext {
  training: boolean;
  seed: number;
}

export interface InitOptions {
  weightDecay: number;
  maxGradNorm: number | null;
  /** Train only these parameters (quick mode); default all. */
  trainable?: string[];
  classWeights?: number[] | null;
  /** Seed for head parameters the weights lack (a base model, new labels). */
  seed: number;
  /** The task's labels differ from the checkpoint's: its head is initialised anew. */
  reinitialiseMismatchedHead: boolean;
  /** Accept a software adapter (SwiftShader, lavapipe): only when WebGPU was asked for by name. */
  allowSoftware: boolean;
  /** Where the weights came from, for messages. */
  source: string;
  /**
   * Predictions only (a Predictor's forward): no optimizer is made (no moments on the GPU) and
   * the optimizer fields above are ignored; 'step', 'moments' and 'restore' then fail.
   */
  inference?: boolean;
}

export type EngineRequest =
  | { id: number; type: 'init'; config: ModelConfig; weights: WireTensor[]; options: InitOptions }
  | { id: number; type: 'step'; micro: WireBatch[]; contexts: WireContext[]; learningRate: number }
  | { id: number; type: 'predict'; batch: WireBatch }
  | { id: number; type: 'params'; names?: string[] }
  /** The optimizer's step count and moments (for a checkpoint). */
  | { id: number; type: 'moments' }
  /** Sets the optimizer's step count and moments (a resumed run): every trainable parameter's. */
  | { id: number; type: 'restore'; step: number; moments: WireMoments[] }
  | { id: number; type: 'dispose' }
  /** Which WebGPU adapter this window has (systemInfo's probe in Electron): answers 'adapter'. Starts no backend. */
  | { id: number; type: 'adapter' };

/**
 * The window's answer to 'adapter': navigator.gpu.requestAdapter({powerPreference:
 * 'high-performance'})'s info, or why there is none (no navigator.gpu: WebGPU is off; no adapter:
 * blocklisted GPU or no driver).
 */
export type AdapterAnswer =
  | { ok: true; vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }
  | { ok: false; why: 'no-navigator-gpu' | 'no-adapter' | 'failed'; reason: string };

/** One parameter's AdamW moments: the bytes of two Float32Arrays of the parameter's size. */
export interface WireMoments {
  name: string;
  m: ArrayBuffer;
  v: ArrayBuffer;
}

export interface InitResult {
  /** The tfjs backend that runs in the window ('webgpu'). */
  backend: string;
  /** The adapter, for the run record ("swiftshader via WebGPU"). */
  device: string;
  loaded: number;
  initialised: string[];
  reinitialised: string[];
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  clipCoef: number;
  /** Live tensors in the window after the step (a leak shows as growth between steps). */
  numTensors: number;
}

export type EngineReply =
  | { id: number; type: 'ready'; result: InitResult }
  | { id: number; type: 'stepped'; result: StepResult }
  | { id: number; type: 'logits'; logits: ArrayBuffer; numLabels: number }
  | { id: number; type: 'params'; params: WireTensor[] }
  | { id: number; type: 'moments'; step: number; moments: WireMoments[] }
  | { id: number; type: 'restored' }
  | { id: number; type: 'disposed' }
  | { id: number; type: 'adapter'; adapter: AdapterAnswer }
  | { id: number; type: 'error'; name: string; message: string };

/** The message the preload posts into the page with the port (window.postMessage, the port in `ports`). */
export { ENGINE_PORT_MESSAGE } from '../../shared/engine-window';

/** The message the page posts on its port once it listens: the client may send work. */
export interface EngineHello {
  type: 'hello';
  /** navigator.gpu exists in this page. */
  webgpu: boolean;
}

/** Request types, for messages. */
export type EngineRequestType = EngineRequest['type'];

/** A copy of a typed array's bytes as its own ArrayBuffer (the view may cover part of a larger buffer). */
export function ownBuffer(view: ArrayBufferView): ArrayBuffer {
  const out = new ArrayBuffer(view.byteLength);
  new Uint8Array(out).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return out;
}

/** Optimizer moments by parameter name, as the protocol carries them (copies: the caller's arrays stay its own). */
export function toWireMoments(moments: Iterable<[string, { m: Float32Array; v: Float32Array }]>): WireMoments[] {
  return [...moments].map(([name, { m, v }]) => ({ name, m: ownBuffer(m), v: ownBuffer(v) }));
}

export function fromWireMoments(wire: readonly WireMoments[]): Map<string, { m: Float32Array; v: Float32Array }> {
  return new Map(wire.map((x) => [x.name, { m: new Float32Array(x.m), v: new Float32Array(x.v) }]));
}

export function toWireBatch(host: HostBatch, labels?: Int32Array): WireBatch {
  return {
    batchSize: host.batchSize,
    seqLen: host.seqLen,
    inputIds: ownBuffer(host.inputIds),
    attentionMask: ownBuffer(host.attentionMask),
    tokenTypeIds: ownBuffer(host.tokenTypeIds),
    labels: labels ? ownBuffer(labels) : undefined,
  };
}

export function fromWireBatch(wire: WireBatch): { host: HostBatch; labels: Int32Array | null } {
  const n = wire.batchSize * wire.seqLen;
  const host: HostBatch = {
    batchSize: wire.batchSize,
    seqLen: wire.seqLen,
    inputIds: new Int32Array(wire.inputIds),
    attentionMask: new Int32Array(wire.attentionMask),
    tokenTypeIds: new Int32Array(wire.tokenTypeIds),
  };
  for (const [k, a] of [['inputIds', host.inputIds], ['attentionMask', host.attentionMask], ['tokenTypeIds', host.tokenTypeIds]] as const) {
    if (a.length !== n) throw new Error(`batch ${k} has ${a.length} values, expected ${wire.batchSize} x ${wire.seqLen}`);
  }
  const labels = wire.labels ? new Int32Array(wire.labels) : null;
  if (labels && labels.length !== wire.batchSize) throw new Error(`batch has ${labels.length} labels for ${wire.batchSize} rows`);
  return { host, labels };
}

/** The ArrayBuffers inside a message, for the transfer list. */
export function transferables(message: EngineRequest | EngineReply): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const batch = (b: WireBatch): void => {
    out.push(b.inputIds, b.attentionMask, b.tokenTypeIds);
    if (b.labels) out.push(b.labels);
  };
  switch (message.type) {
    case 'init':
      for (const w of message.weights) out.push(w.data);
      break;
    case 'step':
      message.micro.forEach(batch);
      break;
    case 'predict':
      batch(message.batch);
      break;
    case 'logits':
      out.push(message.logits);
      break;
    case 'params':
      if ('params' in message) for (const p of message.params) out.push(p.data);
      break;
    case 'moments':
    case 'restore':
      if ('moments' in message) for (const x of message.moments) out.push(x.m, x.v);
      break;
  }
  // A buffer may appear once in a transfer list.
  return [...new Set(out)];
}
