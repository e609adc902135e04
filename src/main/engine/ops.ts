/**
 * The few operations that have a fused kernel (GELU, layer norm, softmax, dropout): with the
 * kernels of the 'native' or 'webgpu' backend (while it is current) one kernel forward and one
 * backward each; otherwise the tfjs op chain that computes the same function. Layers call these with the
 * forward context's kernels, never a backend directly.
 */
import type { Kernels } from './kernels';
import type { NativeOps } from './native/index';
import { tf } from './tf';

function fusedOps(kernels: Kernels): NativeOps | null {
  return kernels.ops && tf.getBackend() === kernels.backend ? kernels.ops : null;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)): transformers' "gelu". */
export function geluErf(x: tf.Tensor, kernels: Kernels): tf.Tensor {
  const f = fusedOps(kernels);
  if (f) return f.gelu(x, 'erf');
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** The tanh approximation: transformers' "gelu_new" (ALBERT). */
export function geluTanh(x: tf.Tensor, kernels: Kernels): tf.Tensor {
  const f = fusedOps(kernels);
  if (f) return f.gelu(x, 'tanh');
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI))));
}

/** torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, kernels: Kernels): tf.Tensor {
  const f = fusedOps(kernels);
  if (f) return f.layerNorm(x, gamma, beta, eps);
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

export function softmax(x: tf.Tensor, kernels: Kernels): tf.Tensor {
  const f = fusedOps(kernels);
  return f ? f.softmax(x) : tf.softmax(x, -1);
}

/**
 * Attention's probabilities: softmax(scores * scale + mask) over the keys, scores [B*heads, T, T]
 * from the q k^T matmul, mask [B, 1, 1, T] (additive); returns [B, heads, T, T]. One kernel where
 * the backend has it (webgpu), else the three ops.
 */
export function attentionSoftmax(scores: tf.Tensor3D, mask: tf.Tensor4D, scale: number, heads: number, kernels: Kernels): tf.Tensor4D {
  const [bh, t, k] = scores.shape;
  const shape: [number, number, number, number] = [bh / heads, heads, t, k];
  const f = fusedOps(kernels);
  if (f?.maskedSoftmax) return f.maskedSoftmax(tf.reshape(scores, shape), mask, scale) as tf.Tensor4D;
  return softmax(tf.add(tf.reshape(tf.mul(scores, scale), shape), mask), kernels) as tf.Tensor4D;
}

/** torch.nn.Dropout: zero with probability rate, scale the rest by 1/(1-rate); the mask comes from the seed. */
export function dropout(x: tf.Tensor, rate: number, seed: number, kernels: Kernels): tf.Tensor {
  const f = fusedOps(kernels);
  if (f) return f.dropout(x, rate, seed);
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate), 'float32');
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
  });
}
