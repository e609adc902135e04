/**
 * transformers.Trainer's optimisation: torch.optim.AdamW (betas 0.9/0.999, eps 1e-8) with
 * decoupled weight decay on the decay group only, global grad-norm clipping, and the linear
 * schedule with warm-up. On host-memory backends (cpu, native, wasm) the update runs in place
 * over the parameter storage in one pass; on TensorFlow backends (GPU) it runs as tensor ops.
 */
import { readBack, type AdamWKernel, type Kernels } from './kernels';
import { tf, hostMemoryBackend, hostView } from './tf';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const TRAINER_ADAMW: Omit<AdamWOptions, 'weightDecay'> = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface OptimizedParam {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

export interface ClipResult {
  /** Global L2 norm of the gradients before clipping (what the Trainer logs as grad_norm). */
  gradNorm: number;
  clipCoef: number;
}

/** Fused update kernel: a backend's kernels can supply a native one (Kernels.adamw). */
export type { AdamWKernel } from './kernels';

/** The reference in-place AdamW update, as torch.optim.AdamW computes it (in double, stored as float32). */
export const adamwUpdateJs: AdamWKernel = (p, g, m, v, a) => {
  const decay = 1 - a.lr * a.weightDecay;
  const b1 = a.beta1;
  const b2 = a.beta2;
  const bc1 = 1 - b1 ** a.step;
  const bc2sqrt = Math.sqrt(1 - b2 ** a.step);
  const stepSize = a.lr / bc1;
  const s = a.gradScale;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * s;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2sqrt + a.eps);
  }
};

/** Sum of squares in double: a native kernel can replace this loop. */
export function sumOfSquaresJs(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]! * values[i]!;
  return s;
}

export class AdamW {
  /** Optimizer steps taken (torch's `step` in the bias corrections). */
  step = 0;
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  private readonly mT = new Map<string, tf.Variable>();
  private readonly vT = new Map<string, tf.Variable>();
  private readonly host: boolean;
  /** The update and the gradient norm: the backend's kernels where it has them, else JavaScript. */
  private readonly adamwKernel: AdamWKernel;
  private readonly sumOfSquares: (values: Float32Array) => number;
  /** GPU kernels for the update and the norm (webgpu), used while their backend is current. */
  private readonly gpu: Pick<Kernels, 'backend' | 'adamwTensors' | 'sumOfSquaresTensors'>;

  constructor(
    readonly params: readonly OptimizedParam[],
    readonly options: AdamWOptions,
    kernels: Kernels,
  ) {
    this.host = hostMemoryBackend();
    this.adamwKernel = kernels.adamw ?? adamwUpdateJs;
    this.sumOfSquares = kernels.sumOfSquares ?? sumOfSquaresJs;
    this.gpu = { backend: kernels.backend, adamwTensors: kernels.adamwTensors, sumOfSquaresTensors: kernels.sumOfSquaresTensors };
    for (const p of params) {
      const size = p.variable.size;
      if (this.host) {
        this.m.set(p.name, new Float32Array(size));
        this.v.set(p.name, new Float32Array(size));
      } else {
        // tidy: the zeros the variable is made from would otherwise stay registered (a leak per moment).
        this.mT.set(p.name, tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
        this.vT.set(p.name, tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
      }
    }
  }

  /** Global norm of all gradients and the clip coefficient, as clip_grad_norm_ computes them. */
  clip(grads: Map<string, tf.Tensor>, maxGradNorm: number | null): ClipResult {
    let sumSq = 0;
    if (this.host) {
      for (const p of this.params) {
        const g = grads.get(p.name);
        if (!g) continue;
        sumSq += this.sumOfSquares(g.dataSync() as Float32Array);
      }
    } else {
      const list = this.params.map((p) => grads.get(p.name)).filter((g): g is tf.Tensor => !!g);
      sumSq = tf.tidy(() => this.sumOfSquaresTensor(list).dataSync()[0]!);
    }
    const gradNorm = Math.sqrt(sumSq);
    const clipCoef = maxGradNorm && maxGradNorm > 0 ? Math.min(1, maxGradNorm / (gradNorm + 1e-6)) : 1;
    return { gradNorm, clipCoef };
  }

  /** clip() for backends that read asynchronously (webgpu): the same arithmetic, awaited. */
  async clipAsync(grads: Map<string, tf.Tensor>, maxGradNorm: number | null): Promise<ClipResult> {
    if (this.host) return this.clip(grads, maxGradNorm);
    const list = this.params.map((p) => grads.get(p.name)).filter((g): g is tf.Tensor => !!g);
    const total = tf.tidy(() => this.sumOfSquaresTensor(list));
    const sumSq = (await total.data())[0]!;
    total.dispose();
    const gradNorm = Math.sqrt(sumSq);
    const clipCoef = maxGradNorm && maxGradNorm > 0 ? Math.min(1, maxGradNorm / (gradNorm + 1e-6)) : 1;
    return { gradNorm, clipCoef };
  }

  /** The gradients' sum of squares on the device: the backend's kernel when it has one, else a tfjs chain. */
  private sumOfSquaresTensor(list: tf.Tensor[]): tf.Tensor {
    const fused = this.gpu.sumOfSquaresTensors;
    if (fused && tf.getBackend() === this.gpu.backend) return fused(list);
    return tf.addN(list.map((g) => tf.sum(tf.square(g))));
  }

  /** Reads the moments back to the host once, so moments() can run on any backend (checkpoints). */
  async prefetchMoments(backend: string): Promise<void> {
    if (!this.host) await readBack([...this.mT.values(), ...this.vT.values()], backend);
  }

  /** One AdamW step with the gradients scaled by clipCoef. */
  apply(grads: Map<string, tf.Tensor>, lr: number, clipCoef: number): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.options;
    const fused = this.gpu.adamwTensors;
    if (!this.host && fused && tf.getBackend() === this.gpu.backend) {
      const steps = this.params.flatMap((p) => {
        const grad = grads.get(p.name);
        return grad ? [{ param: p.variable, grad, m: this.mT.get(p.name)!, v: this.vT.get(p.name)!, weightDecay: p.decay ? weightDecay : 0 }] : [];
      });
      fused(steps, { lr, beta1, beta2, eps, step: this.step, gradScale: clipCoef });
      return;
    }
    for (const p of this.params) {
      const g = grads.get(p.name);
      if (!g) continue;
      const wd = p.decay ? weightDecay : 0;
      if (this.host) {
        const gv = g.dataSync() as Float32Array;
        this.adamwKernel(hostView(p.variable), gv, this.m.get(p.name)!, this.v.get(p.name)!, {
          lr,
          weightDecay: wd,
          beta1,
          beta2,
          eps,
          step: this.step,
          gradScale: clipCoef,
        });
      } else {
        const m = this.mT.get(p.name)!;
        const v = this.vT.get(p.name)!;
        const step = this.step;
        tf.tidy(() => {
          const gs = tf.mul(g, clipCoef);
          const mNew = tf.add(tf.mul(m, beta1), tf.mul(gs, 1 - beta1));
          const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gs), 1 - beta2));
          const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(1 - beta2 ** step)), eps);
          const update = tf.mul(tf.div(mNew, denom), lr / (1 - beta1 ** step));
          const decayed = wd ? tf.mul(p.variable, 1 - lr * wd) : p.variable;
          m.assign(mNew);
          v.assign(vNew);
          p.variable.assign(tf.sub(decayed, update));
        });
      }
    }
  }

  /** Moments by parameter name (for checkpoints). */
  moments(): Map<string, { m: Float32Array; v: Float32Array }> {
    const out = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const p of this.params) {
      if (this.host) out.set(p.name, { m: this.m.get(p.name)!, v: this.v.get(p.name)! });
      else out.set(p.name, { m: this.mT.get(p.name)!.dataSync() as Float32Array, v: this.vT.get(p.name)!.dataSync() as Float32Array });
    }
    return out;
  }

  restore(step: number, moments: Map<string, { m: Float32Array; v: Float32Array }>): void {
    this.step = step;
    for (const p of this.params) {
      const s = moments.get(p.name);
      if (!s) throw new Error(`the checkpoint has no optimizer state for ${p.name}`);
      if (s.m.length !== p.variable.size) throw new Error(`optimizer state for ${p.name} has ${s.m.length} values, expected ${p.variable.size}`);
      if (this.host) {
        this.m.get(p.name)!.set(s.m);
        this.v.get(p.name)!.set(s.v);
      } else {
        tf.tidy(() => {
          this.mT.get(p.name)!.assign(tf.tensor(s.m, p.variable.shape));
          this.vT.get(p.name)!.assign(tf.tensor(s.v, p.variable.shape));
        });
      }
    }
  }

  dispose(): void {
    for (const t of [...this.mT.values(), ...this.vT.values()]) t.dispose();
    this.mT.clear();
    this.vT.clear();
  }
}

/** get_linear_schedule_with_warmup: the learning rate of optimizer step t (from 0). */
export function linearScheduleLr(baseLr: number, t: number, totalSteps: number, warmupSteps: number): number {
  if (t < warmupSteps) return (baseLr * t) / Math.max(1, warmupSteps);
  return baseLr * Math.max(0, (totalSteps - t) / Math.max(1, totalSteps - warmupSteps));
}

/** Warm-up steps from a ratio (ceil, as the Trainer) or an explicit count. */
export function warmupStepsFor(totalSteps: number, warmup: { ratio?: number; steps?: number }): number {
  if (warmup.steps !== undefined && warmup.steps > 0) return Math.floor(warmup.steps);
  return Math.ceil(totalSteps * (warmup.ratio ?? 0));
}
