/**
 * The optimizer's GPU work as a few WGSL dispatches instead of tfjs op chains:
 *
 * - AdamW: one dispatch per parameter computes the new parameter, m and v (the tfjs chain in
 *   optimizer.ts is 17 kernel runs per parameter). The arithmetic is the chain's, operation for
 *   operation in float32 with the same float32 constants, so the result equals it (up to a
 *   compiler contracting a multiply-add, about 1 ulp).
 * - The gradient norm's sum of squares: one dispatch per group of gradients (as many as the
 *   device binds at once) writes partial sums of CHUNK values each, then a few dispatches sum the
 *   partials CHUNK at a time down to one value (the tfjs chain is 2 kernel runs per gradient plus
 *   the AddN tree). Each thread sums its chunk alone: no workgroup memory or barriers (those gave
 *   wrong sums on llvmpipe's OpenGL ES path).
 *
 * The update writes in place (one set of buffers, no new allocation each step) where the
 * variable alone holds its data; where another tensor shares it (a clone), it writes new tensors
 * and assigns them, so that tensor is never changed behind its back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { flatIndex, grid, WgslRunner } from './runner';

export interface AdamWTensorStep {
  param: tf.Variable;
  grad: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  weightDecay: number;
}

export interface AdamWTensorArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
  gradScale: number;
}

const WG = 64;
/** Values one thread sums. */
const CHUNK = 256;

/** The update; inPlace: p, m and v are read and written in their own buffers, else new ones are written. */
function adamwShader(inPlace: boolean): string {
  const bindings = inPlace
    ? ['p: array<f32>', 'm: array<f32>', 'v: array<f32>'].map((b, i) => `@group(0) @binding(${i}) var<storage, read_write> ${b};`).join('\n') +
      '\n@group(0) @binding(3) var<storage, read> g: array<f32>;'
    : [
        ...['pOut', 'mOut', 'vOut'].map((b, i) => `@group(0) @binding(${i}) var<storage, read_write> ${b}: array<f32>;`),
        ...['p', 'g', 'm', 'v'].map((b, i) => `@group(0) @binding(${3 + i}) var<storage, read> ${b}: array<f32>;`),
      ].join('\n');
  const o = inPlace ? { p: 'p', m: 'm', v: 'v' } : { p: 'pOut', m: 'mOut', v: 'vOut' };
  return `
${bindings}
struct U { n: u32, clip: f32, b1: f32, omb1: f32, b2: f32, omb2: f32, bc2sqrt: f32, eps: f32, stepSize: f32, decay: f32 };
@group(0) @binding(${inPlace ? 4 : 7}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${flatIndex(WG)};
  if (i >= u.n) { return; }
  let gs = g[i] * u.clip;
  let mN = m[i] * u.b1 + gs * u.omb1;
  let vN = v[i] * u.b2 + (gs * gs) * u.omb2;
  let denom = sqrt(vN) / u.bc2sqrt + u.eps;
  let upd = (mN / denom) * u.stepSize;
  ${o.p}[i] = p[i] * u.decay - upd;
  ${o.m}[i] = mN;
  ${o.v}[i] = vN;
}`;
}
const ADAMW_IN_PLACE = adamwShader(true);
const ADAMW_OUT = adamwShader(false);

/** Partial sums of squares of `count` gradients bound at 1..count; partial c of gradient k at off_k + c. */
function sumSquaresShader(count: number): string {
  const bindings = Array.from({ length: count }, (_, k) => `@group(0) @binding(${k + 1}) var<storage, read> g${k}: array<f32>;`).join('\n');
  const fields = Array.from({ length: count }, (_, k) => `n${k}: u32, off${k}: u32`).join(', ');
  const branches = Array.from(
    { length: count },
    (_, k) => `  if (k == ${k}u) {
    if (start >= u.n${k}) { return; }
    let end = min(start + ${CHUNK}u, u.n${k});
    var s = 0.0;
    for (var i = start; i < end; i = i + 1u) { let x = g${k}[i]; s = s + x * x; }
    partials[u.off${k} + c] = s;
  }`,
  ).join('\n');
  return `
@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
${bindings}
struct U { ${fields} };
@group(0) @binding(${count + 1}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let k = gid.z;
  let start = c * ${CHUNK}u;
${branches}
}`;
}

const SUM_CHUNKS = `
@group(0) @binding(0) var<storage, read_write> outp: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
struct U { n: u32 };
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = ${flatIndex(WG)};
  let start = c * ${CHUNK}u;
  if (start >= u.n) { return; }
  let end = min(start + ${CHUNK}u, u.n);
  var s = 0.0;
  for (var i = start; i < end; i = i + 1u) { s = s + inp[i]; }
  outp[c] = s;
}`;

export interface WebGpuOptimizerKernels {
  /** One AdamW step over these parameters (new tensors assigned to param, m and v). */
  adamwTensors(steps: AdamWTensorStep[], a: AdamWTensorArgs): void;
  /** Sum of the squares of every value of every tensor, as a scalar tensor. */
  sumOfSquaresTensors(tensors: tf.Tensor[]): tf.Scalar;
}

export function webgpuOptimizerKernels(backend: tf.KernelBackend, maxStorageBuffers: number): WebGpuOptimizerKernels {
  const runner = new WgslRunner(backend);
  if (maxStorageBuffers < 7) throw new Error(`the fused AdamW needs 7 storage buffers per shader; this device allows ${maxStorageBuffers}`);
  const group = Math.max(1, Math.min(8, maxStorageBuffers - 1));
  const f = Math.fround;

  const wrap = (info: tf.TensorInfo): tf.Tensor => tf.engine().makeTensorFromTensorInfo(info, backend);

  return {
    adamwTensors(steps, a) {
      const bc2sqrt = Math.sqrt(1 - a.beta2 ** a.step);
      const stepSize = a.lr / (1 - a.beta1 ** a.step);
      for (const s of steps) {
        const n = s.param.size;
        if (s.grad.size !== n) throw new Error(`AdamW: the gradient of ${s.param.name} has ${s.grad.size} values, the parameter ${n}`);
        if (n === 0) continue;
        const uniforms = [
          { type: 'uint32' as const, data: [n] },
          ...[a.gradScale, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, bc2sqrt, a.eps, stepSize, 1 - a.lr * s.weightDecay].map((x) => ({ type: 'float32' as const, data: [f(x)] })),
        ];
        if ([s.param, s.m, s.v].every((t) => runner.soleOwner(t))) {
          runner.dispatch(ADAMW_IN_PLACE, [s.param, s.m, s.v, s.grad], uniforms, grid(n, WG));
          for (const t of [s.param, s.m, s.v]) runner.wroteInPlace(t);
          continue;
        }
        // A tensor shares this data (a clone of the parameter, say): new buffers, assigned.
        tf.tidy(() => {
          const outs = [runner.output(s.param.shape), runner.output(s.param.shape), runner.output(s.param.shape)];
          runner.dispatch(ADAMW_OUT, [...outs, s.param, s.grad, s.m, s.v], uniforms, grid(n, WG));
          const [p, m, v] = outs.map(wrap);
          s.param.assign(p!);
          s.m.assign(m!);
          s.v.assign(v!);
        });
      }
    },

    sumOfSquaresTensors(tensors) {
      const list = tensors.filter((t) => t.size > 0);
      if (list.length === 0) return tf.scalar(0);
      const chunks = list.map((t) => Math.ceil(t.size / CHUNK));
      let total = chunks.reduce((x, y) => x + y, 0);
      let partials = runner.output([total]);
      const temporaries = [partials];
      let offset = 0;
      for (let i = 0; i < list.length; i += group) {
        const part = list.slice(i, i + group);
        const uniforms: { type: 'uint32'; data: number[] }[] = [];
        let most = 0;
        part.forEach((t, k) => {
          uniforms.push({ type: 'uint32', data: [t.size] }, { type: 'uint32', data: [offset] });
          offset += chunks[i + k]!;
          most = Math.max(most, chunks[i + k]!);
        });
        runner.dispatch(sumSquaresShader(part.length), [partials, ...part], uniforms, [Math.ceil(most / WG), 1, part.length]);
      }
      while (total > 1) {
        const next = Math.ceil(total / CHUNK);
        const out = runner.output([next]);
        temporaries.push(out);
        runner.dispatch(SUM_CHUNKS, [out, partials], [{ type: 'uint32', data: [total] }], grid(next, WG));
        partials = out;
        total = next;
      }
      const result = tf.engine().makeTensorFromTensorInfo({ ...partials, shape: [] }, backend) as tf.Scalar;
      for (const t of temporaries.slice(0, -1)) backend.disposeData(t.dataId);
      return result;
    },
  };
}
