/**
 * Fused transformer ops on webgpu, each one WGSL dispatch forward and one backward (through
 * tf.customGrad), where the tfjs op chains they replace take 4 to 12 kernel runs each way:
 *
 *   gelu(x, 'erf' | 'tanh')         0.5 x (1 + erf(x / sqrt 2)) with tfjs' own erf polynomial, or the tanh form
 *   layerNorm(x, gamma, beta, eps)  over the last axis, biased variance; forward keeps mean and 1/std per row
 *   softmax(x)                      over the last axis, a one-pass gradient
 *   maskedSoftmax(s, mask, scale)   softmax(s * scale + mask) as attention computes it: three kernels in one
 *   dropout(x, rate, seed)          the same mask as the tfjs chain for the same seed (tf.randomUniform's
 *                                   numbers), applied and back-propagated in one dispatch each
 *
 * Row reductions run one thread per row (and one per column for the layer norm's gamma and beta
 * gradients): no workgroup memory or barriers, which gave wrong results on llvmpipe's OpenGL ES path.
 * Numerics: the chains' float32 operations in their order where that is cheap (GELU, dropout:
 * equal), else float32 rounding apart (reductions summed in another order), about 1e-7 relative.
 * They run only while 'webgpu' is the active backend (ops.ts in the engine checks that).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GeluForm, NativeOps } from '../native/index';
import { flatIndex, grid, WgslRunner } from './runner';

const WG = 64;

/** Bindings: the outputs (read_write) first, then the inputs (read), then the uniform struct. */
const HEADER = (outputs: string[], inputs: string[], uniforms: string): string =>
  [
    ...outputs.map((b, i) => `@group(0) @binding(${i}) var<storage, read_write> ${b}: array<f32>;`),
    ...inputs.map((b, i) => `@group(0) @binding(${outputs.length + i}) var<storage, read> ${b}: array<f32>;`),
    `struct U { ${uniforms} };`,
    `@group(0) @binding(${outputs.length + inputs.length}) var<uniform> u: U;`,
  ].join('\n');

const MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${flatIndex(WG)};`;

// tfjs-backend-webgpu's ERF and TANH snippets (unary_op_util.js), so the forward equals tf.erf / tf.tanh.
const ERF_FN = `
fn erf_tf(a: f32) -> f32 {
  let p = 0.3275911;
  let a1 = 0.254829592;
  let a2 = -0.284496736;
  let a3 = 1.421413741;
  let a4 = -1.453152027;
  let a5 = 1.061405429;
  let sgn = sign(a);
  let absA = abs(a);
  let t = 1.0 / (1.0 + p * absA);
  return sgn * (1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * exp(-absA * absA));
}
fn tanh_tf(a: f32) -> f32 {
  let e2x = exp(-2.0 * abs(a));
  return sign(a) * (1.0 - e2x) / (1.0 + e2x);
}`;

const f = Math.fround;

function geluShader(form: GeluForm, grad: boolean): string {
  const k = f(Math.sqrt(2 / Math.PI));
  const body =
    form === 'erf'
      ? grad
        ? `let cdf = 0.5 * (1.0 + erf_tf(x * ${f(Math.SQRT1_2)}));
  out[i] = dy[i] * (cdf + x * ${f(1 / Math.sqrt(2 * Math.PI))} * exp(-0.5 * x * x));`
        : `out[i] = (x * 0.5) * (1.0 + erf_tf(x * ${f(Math.SQRT1_2)}));`
      : grad
        ? `let t = tanh_tf((x + (x * x * x) * 0.044715) * ${k});
  out[i] = dy[i] * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ${k} * (1.0 + ${f(3 * 0.044715)} * x * x));`
        : `out[i] = (x * 0.5) * (1.0 + tanh_tf((x + (x * x * x) * 0.044715) * ${k}));`;
  return `${HEADER(['out'], grad ? ['dy', 'xin'] : ['xin'], 'n: u32')}
${ERF_FN}
${MAIN}
  if (i >= u.n) { return; }
  let x = xin[i];
  ${body}
}`;
}

const LAYER_NORM = `${HEADER(['out', 'outStats'], ['x', 'gamma', 'beta'], 'rows: u32, cols: u32, eps: f32')}
${MAIN}
  if (i >= u.rows) { return; }
  let base = i * u.cols;
  var s = 0.0;
  for (var j = 0u; j < u.cols; j = j + 1u) { s = s + x[base + j]; }
  let mean = s / f32(u.cols);
  var q = 0.0;
  for (var j = 0u; j < u.cols; j = j + 1u) { let c = x[base + j] - mean; q = q + c * c; }
  let rstd = inverseSqrt(q / f32(u.cols) + u.eps);
  for (var j = 0u; j < u.cols; j = j + 1u) {
    out[base + j] = ((x[base + j] - mean) * rstd) * gamma[j] + beta[j];
  }
  outStats[2u * i] = mean;
  outStats[2u * i + 1u] = rstd;
}`;

// Threads [0, rows) write dx of a row; threads [rows, rows + cols) the gamma and beta gradients of a column.
const LAYER_NORM_GRAD = `${HEADER(['dx', 'dgamma', 'dbeta'], ['gy', 'x', 'gamma', 'stats'], 'rows: u32, cols: u32')}
${MAIN}
  if (i < u.rows) {
    let base = i * u.cols;
    let mean = stats[2u * i];
    let rstd = stats[2u * i + 1u];
    var a = 0.0;
    var b = 0.0;
    for (var j = 0u; j < u.cols; j = j + 1u) {
      let g = gy[base + j] * gamma[j];
      a = a + g;
      b = b + g * ((x[base + j] - mean) * rstd);
    }
    let ma = a / f32(u.cols);
    let mb = b / f32(u.cols);
    for (var j = 0u; j < u.cols; j = j + 1u) {
      let xhat = (x[base + j] - mean) * rstd;
      dx[base + j] = rstd * (gy[base + j] * gamma[j] - ma - xhat * mb);
    }
    return;
  }
  let j = i - u.rows;
  if (j >= u.cols) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < u.rows; r = r + 1u) {
    let v = gy[r * u.cols + j];
    sg = sg + v * ((x[r * u.cols + j] - stats[2u * r]) * stats[2u * r + 1u]);
    sb = sb + v;
  }
  dgamma[j] = sg;
  dbeta[j] = sb;
}`;

// softmax(x * scale + mask) over the last axis; the mask row of score row i is i / group (attention:
// one mask row per sequence covers heads x time score rows). hasMask = 0: plain softmax (mask unread).
const SOFTMAX = `${HEADER(['out'], ['x', 'mask'], 'rows: u32, cols: u32, group: u32, hasMask: u32, scale: f32')}
fn score(base: u32, mbase: u32, j: u32) -> f32 {
  if (u.hasMask == 0u) { return x[base + j]; }
  return x[base + j] * u.scale + mask[mbase + j];
}
${MAIN}
  if (i >= u.rows) { return; }
  let base = i * u.cols;
  let mbase = (i / u.group) * u.cols;
  var m = score(base, mbase, 0u);
  for (var j = 1u; j < u.cols; j = j + 1u) { m = max(m, score(base, mbase, j)); }
  var s = 0.0;
  for (var j = 0u; j < u.cols; j = j + 1u) { s = s + exp(score(base, mbase, j) - m); }
  for (var j = 0u; j < u.cols; j = j + 1u) { out[base + j] = exp(score(base, mbase, j) - m) / s; }
}`;

// dx = (y * (dy - sum(dy * y))) * scale, one thread per row.
const SOFTMAX_GRAD = `${HEADER(['dx'], ['gy', 'y'], 'rows: u32, cols: u32, scale: f32')}
${MAIN}
  if (i >= u.rows) { return; }
  let base = i * u.cols;
  var s = 0.0;
  for (var j = 0u; j < u.cols; j = j + 1u) { s = s + gy[base + j] * y[base + j]; }
  for (var j = 0u; j < u.cols; j = j + 1u) { dx[base + j] = (y[base + j] * (gy[base + j] - s)) * u.scale; }
}`;

// x * (keep ? 1/(1-rate) : 0) with keep = uniform >= rate: the tfjs chain's multiplications, in its order.
const DROPOUT = `${HEADER(['out'], ['x', 'uni'], 'n: u32, rate: f32, scale: f32')}
${MAIN}
  if (i >= u.n) { return; }
  out[i] = x[i] * select(0.0, u.scale, uni[i] >= u.rate);
}`;

/** tf.customGrad with the inputs typed (its signature takes a rest array of Tensor | save). */
function customGrad<A extends unknown[]>(fn: (...args: A) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }): (...args: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]) as (...args: tf.Tensor[]) => tf.Tensor;
}

function requireWebGpu(op: string): void {
  if (tf.getBackend() !== 'webgpu') throw new Error(`the fused webgpu ${op} runs only on the 'webgpu' backend (the active backend is '${tf.getBackend()}')`);
}

function lastAxis(x: tf.Tensor): { rows: number; cols: number } {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  return { rows: cols === 0 ? 0 : x.size / cols, cols };
}

export function webgpuOps(backend: tf.KernelBackend): NativeOps {
  const runner = new WgslRunner(backend);
  const wrap = (info: tf.TensorInfo): tf.Tensor => tf.engine().makeTensorFromTensorInfo(info, backend);
  const u32 = (x: number) => ({ type: 'uint32' as const, data: [x] });
  const f32 = (x: number) => ({ type: 'float32' as const, data: [f(x)] });

  const elementwise = (code: string, inputs: tf.Tensor[], shape: number[], extra: { type: 'float32' | 'uint32'; data: number[] }[] = []): tf.Tensor => {
    const out = runner.output(shape);
    const n = inputs[0]!.size;
    if (n > 0) runner.dispatch(code, [out, ...inputs], [u32(n), ...extra], grid(n, WG));
    return wrap(out);
  };

  const geluCode = {
    erf: [geluShader('erf', false), geluShader('erf', true)],
    tanh: [geluShader('tanh', false), geluShader('tanh', true)],
  } as const;
  const geluOps: Record<GeluForm, (x: tf.Tensor) => tf.Tensor> = {
    erf: customGrad((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return { value: elementwise(geluCode.erf[0], [x], x.shape), gradFunc: (dy, [xs]) => elementwise(geluCode.erf[1], [dy, xs!], xs!.shape) };
    }),
    tanh: customGrad((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return { value: elementwise(geluCode.tanh[0], [x], x.shape), gradFunc: (dy, [xs]) => elementwise(geluCode.tanh[1], [dy, xs!], xs!.shape) };
    }),
  };

  /** softmax(x * scale + mask) over the last axis of x, with the mask's rows each covering `group` rows of x. */
  const softmaxRows = (x: tf.Tensor, mask: tf.Tensor | null, scale: number, group: number): tf.Tensor =>
    customGrad((xi: tf.Tensor, save: tf.GradSaveFunc) => {
      const { rows, cols } = lastAxis(xi);
      const y = runner.output(xi.shape);
      if (rows > 0) {
        runner.dispatch(SOFTMAX, [y, xi, mask ?? xi], [u32(rows), u32(cols), u32(group), u32(mask ? 1 : 0), f32(mask ? scale : 1)], grid(rows, WG));
      }
      const value = wrap(y);
      save([value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => {
          const dx = runner.output(ys!.shape);
          if (rows > 0) runner.dispatch(SOFTMAX_GRAD, [dx, dy, ys!], [u32(rows), u32(cols), f32(mask ? scale : 1)], grid(rows, WG));
          return wrap(dx);
        },
      };
    })(x);

  return {
    gelu(x, approximate) {
      requireWebGpu('gelu');
      const op = geluOps[approximate];
      if (!op) throw new Error(`gelu: approximate must be 'erf' or 'tanh', not '${String(approximate)}'`);
      return op(x);
    },

    layerNorm(x, gamma, beta, eps) {
      requireWebGpu('layerNorm');
      const { rows, cols } = lastAxis(x);
      if (gamma.size !== cols || beta.size !== cols) {
        throw new Error(`layerNorm: gamma and beta need ${cols} values (the last axis of x), got ${gamma.size} and ${beta.size}`);
      }
      const op = customGrad((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
        const y = runner.output(xi.shape);
        const stats = runner.output([Math.max(1, rows), 2]);
        if (rows > 0) runner.dispatch(LAYER_NORM, [y, stats, xi, g, b], [u32(rows), u32(cols), f32(eps)], grid(rows, WG));
        const statsT = wrap(stats);
        save([xi, g, statsT]);
        // save() kept a clone (sharing the data) when a gradient is being recorded; this handle is not needed.
        statsT.dispose();
        return {
          value: wrap(y),
          gradFunc: (dy: tf.Tensor, [xs, gs, st]: tf.Tensor[]) => {
            const dx = runner.output(xs!.shape);
            const dgamma = runner.output(gs!.shape);
            const dbeta = runner.output(gs!.shape);
            runner.dispatch(LAYER_NORM_GRAD, [dx, dgamma, dbeta, dy, xs!, gs!, st!], [u32(rows), u32(cols)], grid(rows + cols, WG));
            return [wrap(dx), wrap(dgamma), wrap(dbeta)];
          },
        };
      });
      return op(x, gamma, beta);
    },

    softmax(x) {
      requireWebGpu('softmax');
      return softmaxRows(x, null, 1, 1);
    },

    maskedSoftmax(scores, mask, scale) {
      requireWebGpu('maskedSoftmax');
      const [b, h, t, k] = scores.shape as [number, number, number, number];
      if (scores.rank !== 4 || mask.size !== b * k) {
        throw new Error(`maskedSoftmax: scores must be [batch, heads, queries, keys] and the mask [batch, 1, 1, keys]; got ${JSON.stringify(scores.shape)} and ${JSON.stringify(mask.shape)}`);
      }
      return softmaxRows(scores, mask, scale, h * t);
    },

    dropout(x, rate, seed) {
      requireWebGpu('dropout');
      if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
      if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) throw new Error(`dropout: seed must be an integer in [0, 2^53), got ${seed}`);
      if (rate === 0) return tf.clone(x);
      // The numbers the tfjs chain (engine ops.ts) draws for this seed: the same mask, bit for bit.
      const extra = [f32(rate), f32(1 / (1 - rate))];
      const op = customGrad((xi: tf.Tensor, save: tf.GradSaveFunc) => {
        const uniform = tf.randomUniform(xi.shape, 0, 1, 'float32', seed);
        save([uniform]);
        const y = elementwise(DROPOUT, [xi, uniform], xi.shape, extra);
        uniform.dispose();
        return { value: y, gradFunc: (dy: tf.Tensor, [us]: tf.Tensor[]) => elementwise(DROPOUT, [dy, us!], dy.shape, extra) };
      });
      return op(x);
    },
  };
}
