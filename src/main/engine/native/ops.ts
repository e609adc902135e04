/**
 * Fused transformer ops for the 'native' backend, each one kernel forward and one backward (with
 * the gradient registered through tf.customGrad), where the same math as tfjs ops takes 5 to 15
 * kernels and as many temporary tensors:
 *
 *   gelu(x, 'erf' | 'tanh')          0.5 x (1 + erf(x / sqrt 2)), or the tanh form (gelu_new)
 *   layerNorm(x, gamma, beta, eps)   over the last axis, biased variance (torch.nn.LayerNorm)
 *   softmax(x)                       over the last axis, with a one-pass gradient
 *   dropout(x, rate, seed)           counter-based mask: no mask tensor, same mask for the same seed
 *
 * They run only while 'native' is the active backend (they throw otherwise, naming the backend),
 * so the engine picks them explicitly:
 *
 *   const fused = tf.getBackend() === 'native' ? nativeOps() : null;
 *   const y = fused ? fused.gelu(x, 'erf') : referenceGelu(x);
 *
 * Numerics: computed in double per element or row and rounded once, so they differ from the op
 * chains they replace by float32 rounding only (about 1e-7 relative). dropout draws its own
 * random numbers: the same keep probability, not the same mask as tf.randomUniform would give.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon';
import { f32 } from './elementwise';

export const FUSED_KERNELS = {
  gelu: 'FinetuneGelu',
  geluGrad: 'FinetuneGeluGrad',
  layerNorm: 'FinetuneLayerNorm',
  layerNormGrad: 'FinetuneLayerNormGrad',
  softmaxGrad: 'FinetuneSoftmaxGrad',
  dropout: 'FinetuneDropout',
} as const;

export type GeluForm = 'erf' | 'tanh';

export interface NativeOps {
  gelu(x: tf.Tensor, approximate: GeluForm): tf.Tensor;
  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor;
  softmax(x: tf.Tensor): tf.Tensor;
  /** Keeps each element with probability 1 - rate, scaled by 1 / (1 - rate); seed: integer in [0, 2^53). */
  dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor;
  /**
   * softmax(scores * scale + mask) over the keys, scores [batch, heads, queries, keys], mask
   * [batch, 1, 1, keys] (additive): attention's scale, mask and softmax in one kernel. Optional
   * (webgpu has it); without it the engine runs the three ops.
   */
  maskedSoftmax?(scores: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: tf.NamedAttrMap };

function out(n: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
}

function need(backend: MathBackendCPU, t: tf.TensorInfo | undefined, name: string, kernel: string): Float32Array {
  const v = f32(backend, t);
  if (!v) throw new Error(`${kernel}: ${name} must be a float32 tensor`);
  return v;
}

/** Registers the fused kernels on `backendName` (the ops below call them through the engine). */
export function registerFusedKernels(addon: NativeAddon, backendName: string, register: (config: tf.KernelConfig) => void): void {
  const reg = (kernelName: string, fn: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) =>
    register({ kernelName, backendName, kernelFunc: fn as unknown as tf.KernelFunc });

  reg(FUSED_KERNELS.gelu, ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const xv = need(backend, x, 'x', 'gelu');
    const y = out(xv.length);
    addon.gelu(xv, y, (attrs as { approximate: GeluForm }).approximate);
    return backend.makeTensorInfo(x.shape, 'float32', y);
  });
  reg(FUSED_KERNELS.geluGrad, ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const xv = need(backend, x, 'x', 'geluGrad');
    const dx = out(xv.length);
    addon.geluGrad(need(backend, inputs.dy, 'dy', 'geluGrad'), xv, dx, (attrs as { approximate: GeluForm }).approximate);
    return backend.makeTensorInfo(x.shape, 'float32', dx);
  });
  reg(FUSED_KERNELS.layerNorm, ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const cols = x.shape[x.shape.length - 1] ?? 1;
    const xv = need(backend, x, 'x', 'layerNorm');
    const y = out(xv.length);
    const rows = cols === 0 ? 0 : xv.length / cols;
    addon.layerNorm(xv, need(backend, inputs.gamma, 'gamma', 'layerNorm'), need(backend, inputs.beta, 'beta', 'layerNorm'), rows, cols, Number((attrs as { eps: number }).eps), y);
    return backend.makeTensorInfo(x.shape, 'float32', y);
  });
  reg(FUSED_KERNELS.layerNormGrad, ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const gamma = inputs.gamma!;
    const cols = x.shape[x.shape.length - 1] ?? 1;
    const xv = need(backend, x, 'x', 'layerNormGrad');
    const rows = cols === 0 ? 0 : xv.length / cols;
    const dx = out(xv.length);
    const dgamma = out(cols);
    const dbeta = out(cols);
    addon.layerNormGrad(need(backend, inputs.dy, 'dy', 'layerNormGrad'), xv, need(backend, gamma, 'gamma', 'layerNormGrad'), rows, cols, Number((attrs as { eps: number }).eps), dx, dgamma, dbeta);
    return [
      backend.makeTensorInfo(x.shape, 'float32', dx),
      backend.makeTensorInfo(gamma.shape, 'float32', dgamma),
      backend.makeTensorInfo(gamma.shape, 'float32', dbeta),
    ];
  });
  reg(FUSED_KERNELS.softmaxGrad, ({ inputs, backend }) => {
    const y = inputs.y!;
    const cols = y.shape[y.shape.length - 1] ?? 1;
    const yv = need(backend, y, 'y', 'softmaxGrad');
    const dx = out(yv.length);
    addon.softmaxGrad(need(backend, inputs.dy, 'dy', 'softmaxGrad'), yv, cols === 0 ? 0 : yv.length / cols, cols, dx);
    return backend.makeTensorInfo(y.shape, 'float32', dx);
  });
  reg(FUSED_KERNELS.dropout, ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const xv = need(backend, x, 'x', 'dropout');
    const y = out(xv.length);
    const a = attrs as { rate: number; seed: number };
    addon.dropout(xv, a.rate, a.seed, y);
    return backend.makeTensorInfo(x.shape, 'float32', y);
  });
}

/** tf.customGrad with the inputs typed (its signature takes a rest array of Tensor | save). */
function customGrad<A extends unknown[]>(f: (...args: A) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }): (...args: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (...args: tf.Tensor[]) => tf.Tensor;
}

function run(kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor | tf.Tensor[];
}

function requireNative(op: string, backendName: string): void {
  if (tf.getBackend() !== backendName) {
    throw new Error(`native ${op} runs only on the '${backendName}' backend (the active backend is '${tf.getBackend()}')`);
  }
}

/** The fused ops, for use while `backendName` (default 'native') is active. */
export function createNativeOps(backendName = 'native'): NativeOps {
  const geluOps: Record<GeluForm, (x: tf.Tensor) => tf.Tensor> = {
    erf: customGrad((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: run(FUSED_KERNELS.gelu, { x }, { approximate: 'erf' }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.geluGrad, { dy, x: saved[0]! }, { approximate: 'erf' }) as tf.Tensor,
      };
    }),
    tanh: customGrad((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: run(FUSED_KERNELS.gelu, { x }, { approximate: 'tanh' }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.geluGrad, { dy, x: saved[0]! }, { approximate: 'tanh' }) as tf.Tensor,
      };
    }),
  };
  const softmaxOp = customGrad((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.softmax(x);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(FUSED_KERNELS.softmaxGrad, { dy, y: saved[0]! }) as tf.Tensor,
    };
  });

  return {
    gelu(x, approximate) {
      requireNative('gelu', backendName);
      const op = geluOps[approximate];
      if (!op) throw new Error(`gelu: approximate must be 'erf' or 'tanh', not '${String(approximate)}'`);
      return op(x);
    },
    layerNorm(x, gamma, beta, eps) {
      requireNative('layerNorm', backendName);
      const cols = x.shape[x.shape.length - 1];
      if (gamma.size !== cols || beta.size !== cols) {
        throw new Error(`layerNorm: gamma and beta need ${cols} values (the last axis of x), got ${gamma.size} and ${beta.size}`);
      }
      const op = customGrad((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
        save([xi, g]);
        return {
          value: run(FUSED_KERNELS.layerNorm, { x: xi, gamma: g, beta: b }, { eps }) as tf.Tensor,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
            run(FUSED_KERNELS.layerNormGrad, { dy, x: saved[0]!, gamma: saved[1]! }, { eps }) as tf.Tensor[],
        };
      });
      return op(x, gamma, beta);
    },
    softmax(x) {
      requireNative('softmax', backendName);
      return softmaxOp(x);
    },
    dropout(x, rate, seed) {
      requireNative('dropout', backendName);
      if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
      if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) throw new Error(`dropout: seed must be an integer in [0, 2^53), got ${seed}`);
      if (rate === 0) return tf.clone(x);
      // The backward pass applies the same mask to dy: the same kernel with the same seed.
      const op = customGrad((xi: tf.Tensor) => ({
        value: run(FUSED_KERNELS.dropout, { x: xi }, { rate, seed }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor) => run(FUSED_KERNELS.dropout, { x: dy }, { rate, seed }) as tf.Tensor,
      }));
      return op(x);
    },
  };
}
