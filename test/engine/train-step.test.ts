import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { tf } from '../../src/main/engine/tf';
import { loadModelFolder, type LoadedModel } from '../../src/main/engine/load';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { ForwardContext } from '../../src/main/engine/models/layers';
import { decayParameterNames } from '../../src/main/engine/models/index';
import { Stepper, predictLogitsAsync, type LabeledBatch } from '../../src/main/engine/step';
import { AdamW, TRAINER_ADAMW, adamwUpdateJs } from '../../src/main/engine/optimizer';
import { readSafetensors } from '../../src/main/hf/safetensors';
import { FAMILIES, fixtureDir, loadGolden, type Family } from '../helpers/reference';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { useHeavyTimeouts } from './timeouts';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
beforeAll(async () => {
  await setTestBackend(backend);
});

interface TrainSpec {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  labels: number[];
  lr: number;
  weight_decay: number;
  max_grad_norm: number;
  steps?: number;
  lrs?: number[];
}
interface TrainExpected {
  loss: number;
  grad_norm: number;
  losses: number[];
  grad_norms: number[];
  clip_coef: number;
  params_after: Record<string, number[]>;
  logits_after: number[][];
  logits_before: number[][];
  decay_parameter_names: string[];
  ill_conditioned_parameters?: string[];
}

function labeledBatch(loaded: LoadedModel, spec: TrainSpec): LabeledBatch {
  const rows = spec.input_ids.map((ids, i) => {
    const len = spec.attention_mask[i]!.reduce((a, b) => a + b, 0);
    return { ids: ids.slice(0, len), typeIds: spec.token_type_ids?.[i]?.slice(0, len) };
  });
  return { tensors: batchTensors(padRows(rows, loaded.tokenizer.padId), loaded.model.config), labels: Int32Array.from(spec.labels) };
}

describe.each(FAMILIES)(`%s training step (${backend})`, (family: Family) => {
  const golden = loadGolden(family);
  const ts = golden.train_step as { input: TrainSpec; expected: TrainExpected & { ill_conditioned_parameters: string[] }; ill_conditioned_parameters?: string[] };
  const ill = new Set<string>((golden.train_step as { ill_conditioned_parameters?: string[] }).ill_conditioned_parameters ?? ts.expected.ill_conditioned_parameters ?? []);
  let loaded: LoadedModel | null = null;
  let batch: LabeledBatch | null = null;
  let stepper: Stepper | null = null;
  afterEach(() => {
    stepper?.dispose();
    if (batch) disposeBatch(batch.tensors);
    loaded?.model.store.dispose();
    loaded = null;
    batch = null;
    stepper = null;
  });

  it('decay parameter names match the Trainer', async () => {
    loaded = await loadModelFolder(fixtureDir(family));
    expect(decayParameterNames(loaded.model).sort()).toEqual([...ts.expected.decay_parameter_names].sort());
  });

  it('gradients, loss and grad norm match the golden step', async () => {
    loaded = await loadModelFolder(fixtureDir(family));
    batch = labeledBatch(loaded, ts.input);
    stepper = new Stepper(loaded.model, { weightDecay: ts.input.weight_decay, maxGradNorm: ts.input.max_grad_norm }, activeKernels());
    const { loss, grads } = await stepper.gradientsAsync([batch], [new ForwardContext(false, 0, activeKernels())]);
    expect(Math.abs(loss - ts.expected.loss)).toBeLessThanOrEqual(1e-5);
    const { gradNorm, clipCoef } = await stepper.optimizer.clipAsync(grads, ts.input.max_grad_norm);
    expect(Math.abs(gradNorm - ts.expected.grad_norm) / ts.expected.grad_norm).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(clipCoef - ts.expected.clip_coef)).toBeLessThanOrEqual(1e-6);
    const ref = readSafetensors(path.join(fixtureDir(family), 'golden_grads.safetensors'));
    for (const [name, g] of grads) {
      const r = ref.get(name);
      expect(r, name).toBeDefined();
      const refMax = r!.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const tol = 1e-4 * refMax + 1e-6 * ts.expected.grad_norm;
      expect(maxAbsDiff(await g.data(), r!.data), name).toBeLessThanOrEqual(tol);
      g.dispose();
    }
    expect(grads.size).toBe(ref.size);
  });

  it('AdamW applied to the golden gradients reproduces golden_params_after', async () => {
    loaded = await loadModelFolder(fixtureDir(family));
    const ref = readSafetensors(path.join(fixtureDir(family), 'golden_grads.safetensors'));
    const after = readSafetensors(path.join(fixtureDir(family), 'golden_params_after.safetensors'));
    const decay = new Set(decayParameterNames(loaded.model));
    const params = loaded.model.store.names().map((name) => ({ name, variable: loaded!.model.store.get(name), decay: decay.has(name) }));
    const opt = new AdamW(params, { ...TRAINER_ADAMW, weightDecay: ts.input.weight_decay }, activeKernels());
    const grads = new Map([...ref].map(([k, t]) => [k, tf.tensor(t.data, t.shape)] as const));
    const { clipCoef } = await opt.clipAsync(grads, ts.input.max_grad_norm);
    opt.apply(grads, ts.input.lr, clipCoef);
    for (const g of grads.values()) g.dispose();
    for (const name of loaded.model.store.names()) {
      expect(maxAbsDiff(await loaded.model.store.get(name).data(), after.get(name)!.data), name).toBeLessThanOrEqual(1e-6);
    }
    opt.dispose();
  });

  it.each([
    ['one step', 'train_step'],
    ['three steps', 'train_steps_3'],
  ] as const)('%s end to end: losses, parameters and logits after', async (_label, key) => {
    const spec = golden[key] as { input: TrainSpec; expected: TrainExpected };
    loaded = await loadModelFolder(fixtureDir(family));
    batch = labeledBatch(loaded, spec.input);
    stepper = new Stepper(loaded.model, { weightDecay: spec.input.weight_decay, maxGradNorm: spec.input.max_grad_norm }, activeKernels());
    const before = await predictLogitsAsync(loaded.model, batch.tensors, activeKernels());
    expect(maxAbsDiff(before, spec.expected.logits_before.flat())).toBeLessThanOrEqual(1e-4);
    const steps = spec.input.steps ?? 1;
    const lrs = spec.input.lrs ?? [spec.input.lr];
    const losses: number[] = [];
    const norms: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < steps; i++) {
      const out = await stepper.stepAsync([batch], [new ForwardContext(false, 0, activeKernels())], lrs[i]!);
      losses.push(out.loss);
      norms.push(out.gradNorm);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    }
    losses.forEach((l, i) => expect(Math.abs(l - spec.expected.losses[i]!)).toBeLessThanOrEqual(1e-5));
    norms.forEach((n, i) => expect(Math.abs(n - spec.expected.grad_norms[i]!) / spec.expected.grad_norms[i]!).toBeLessThanOrEqual(1e-4));
    const sumLr = lrs.reduce((a, b) => a + b, 0);
    const initial = readSafetensors(path.join(fixtureDir(family), 'model.safetensors'));
    for (const [name, first8] of Object.entries(spec.expected.params_after)) {
      const ours = await loaded.model.store.get(name).data();
      if (ill.has(name)) {
        const start = initial.get(name)!.data;
        expect(maxAbsDiff(ours, start), name).toBeLessThanOrEqual(sumLr * 1.0001);
        continue;
      }
      expect(maxAbsDiff(Array.from(ours.slice(0, 8)), first8), name).toBeLessThanOrEqual(1e-4);
    }
    if (key === 'train_step') {
      const after = readSafetensors(path.join(fixtureDir(family), 'golden_params_after.safetensors'));
      let beyond = 0;
      let total = 0;
      for (const name of loaded.model.store.names()) {
        if (ill.has(name)) continue;
        const ours = await loaded.model.store.get(name).data();
        const ref = after.get(name)!.data;
        expect(maxAbsDiff(ours, ref), name).toBeLessThanOrEqual(1e-3);
        for (let i = 0; i < ref.length; i++) if (Math.abs(ours[i]! - ref[i]!) > 1e-6) beyond++;
        total += ref.length;
      }
      expect(beyond / total).toBeLessThanOrEqual(1e-3);
    }
    const afterLogits = await predictLogitsAsync(loaded.model, batch.tensors, activeKernels());
    expect(maxAbsDiff(afterLogits, spec.expected.logits_after.flat())).toBeLessThanOrEqual(1e-4);
  });
});

describe('AdamW kernel', () => {
  it('matches the torch formula computed by hand', () => {
    const p = Float32Array.from([1, -2, 0.5]);
    const g = Float32Array.from([0.1, 0.2, -0.3]);
    const m = new Float32Array(3);
    const v = new Float32Array(3);
    adamwUpdateJs(p, g, m, v, { lr: 0.01, weightDecay: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, gradScale: 1 });
    // Step 1: m_hat = g, v_hat = g^2, so the update is lr * sign(g) (up to eps), after decay p *= 1 - lr*wd.
    const expected = [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) - 0.01, 0.5 * (1 - 0.001) + 0.01];
    expect(maxAbsDiff(p, expected)).toBeLessThan(1e-6);
  });
});
