/**
 * The golden training step of a reference family, driven through an EngineWindowClient: the
 * client side reads the files (config, weights, tokenizer pad id) as the utility process would,
 * sends them to the window, trains one step and reads the logits after. Returns the differences
 * to the goldens (the caller asserts them).
 */
import { readModelConfig } from '../../src/main/hf/config';
import { readModelWeights } from '../../src/main/hf/weights';
import { padRows, type HostBatch } from '../../src/main/engine/batch';
import { loadTokenizer } from '../../src/main/engine/tokenizer';
import type { EngineWindowClient } from '../../src/main/engine/window-client';
import type { InitResult, StepResult } from '../../src/main/engine/window-protocol';
import { fixtureDir, loadGolden, type Family } from '../helpers/reference';
import { maxAbsDiff } from '../helpers/engine';

interface TrainSpec {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  labels: number[];
  lr: number;
  weight_decay: number;
  max_grad_norm: number;
}
interface TrainExpected {
  loss: number;
  grad_norm: number;
  clip_coef: number;
  logits_before: number[][];
  logits_after: number[][];
  params_after: Record<string, number[]>;
  ill_conditioned_parameters?: string[];
}

export interface GoldenStepOutcome {
  init: InitResult;
  step: StepResult;
  /** |loss - golden|. */
  lossDiff: number;
  /** |gradNorm - golden| / golden. */
  gradNormRel: number;
  clipCoefDiff: number;
  /** Max |logits - golden| before and after the step. */
  logitsBeforeDiff: number;
  logitsAfterDiff: number;
  /** Max |first 8 values of each parameter - golden| over the well-conditioned parameters. */
  paramsFirst8Diff: number;
  /** Live tensors in the window after a second and a third step (with a predict between): equal unless a step or predict leaks. */
  tensorsAfterSecondStep: number;
  tensorsAfterThirdStep: number;
}

export async function goldenStep(client: EngineWindowClient, family: Family, allowSoftware: boolean): Promise<GoldenStepOutcome> {
  const dir = fixtureDir(family);
  const golden = loadGolden(family);
  const ts = golden.train_step as { input: TrainSpec; expected: TrainExpected; ill_conditioned_parameters?: string[] };
  const ill = new Set(ts.ill_conditioned_parameters ?? ts.expected.ill_conditioned_parameters ?? []);
  const config = readModelConfig(dir);
  const { weights } = readModelWeights(dir);
  const tokenizer = await loadTokenizer(dir, config.modelType);
  const spec = ts.input;
  const rows = spec.input_ids.map((ids, i) => {
    const len = spec.attention_mask[i]!.reduce((a, b) => a + b, 0);
    return { ids: ids.slice(0, len), typeIds: spec.token_type_ids?.[i]?.slice(0, len) };
  });
  const host: HostBatch = padRows(rows, tokenizer.padId);
  const init = await client.init(config, weights, {
    weightDecay: spec.weight_decay,
    maxGradNorm: spec.max_grad_norm,
    seed: 42,
    reinitialiseMismatchedHead: false,
    allowSoftware,
    source: dir,
  });
  const before = await client.predict(host);
  const step = await client.step([{ host, labels: Int32Array.from(spec.labels) }], [{ training: false, seed: 0 }], spec.lr);
  const after = await client.predict(host);
  const params = await client.params(Object.keys(ts.expected.params_after).filter((n) => !ill.has(n)));
  let paramsFirst8Diff = 0;
  for (const [name, first8] of Object.entries(ts.expected.params_after)) {
    if (ill.has(name)) continue;
    const p = params.get(name);
    if (!p) throw new Error(`the window did not return ${name}`);
    paramsFirst8Diff = Math.max(paramsFirst8Diff, maxAbsDiff(Array.from(p.data.slice(0, 8)), first8));
  }
  const step2Tensors = (await client.step([{ host, labels: Int32Array.from(spec.labels) }], [{ training: false, seed: 0 }], spec.lr)).numTensors;
  await client.predict(host);
  const step3Tensors = (await client.step([{ host, labels: Int32Array.from(spec.labels) }], [{ training: false, seed: 0 }], spec.lr)).numTensors;
  await client.dispose();
  return {
    init,
    step,
    lossDiff: Math.abs(step.loss - ts.expected.loss),
    gradNormRel: Math.abs(step.gradNorm - ts.expected.grad_norm) / ts.expected.grad_norm,
    clipCoefDiff: Math.abs(step.clipCoef - ts.expected.clip_coef),
    logitsBeforeDiff: maxAbsDiff(before, ts.expected.logits_before.flat()),
    logitsAfterDiff: maxAbsDiff(after, ts.expected.logits_after.flat()),
    paramsFirst8Diff,
    tensorsAfterSecondStep: step2Tensors,
    tensorsAfterThirdStep: step3Tensors,
  };
}
