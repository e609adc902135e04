/**
 * Masked-LM adaptation against ../shared/reference/fixtures/<family>-mlm (README "Masked LM"):
 * logits, loss, gradients (tied decoder), AdamW step, the save_pretrained keys, the masking rule
 * of DataCollatorForLanguageModeling (golden draws exactly, own RNG statistically), no leaks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/main/engine/tf';
import type { HostBatch } from '../../src/main/engine/batch';
import { batchTensors, disposeBatch } from '../../src/main/engine/batch';
import { ForwardContext, type ForwardTrace } from '../../src/main/engine/models/layers';
import { decayParameterNames } from '../../src/main/engine/models/index';
import { AdamW, TRAINER_ADAMW } from '../../src/main/engine/optimizer';
import { readSafetensors } from '../../src/main/hf/safetensors';
import { activeKernels } from '../../src/main/engine/backends/start';
import { loadModelFolder } from '../../src/main/engine/load';
import { Rng } from '../../src/main/engine/rng';
import { isNewMlmHead, loadMaskedLmFolder, type LoadedMaskedLm } from '../../src/main/engine/mlm/load';
import { disposeMlmBatch, mlmBatchTensors, MlmLossMeter, MlmStepper, type MlmLabeledBatch } from '../../src/main/engine/mlm/step';
import { applyMaskingRule, collateMlm, DEFAULT_MASKING, drawMasks, encodeForMlm, IGNORE_INDEX, mlmVocabulary, type MlmRow } from '../../src/main/engine/mlm/collator';
import { saveMaskedLmFolder } from '../../src/main/engine/mlm/save';
import { logUnigramPrior, pretrainMaskedLm, PretrainCancelled, tokenizeForPretraining } from '../../src/main/engine/mlm/pretrain';
import { FAMILIES, REFERENCE_DIR, type Family } from '../helpers/reference';
import { maxAbsDiff, setTestBackend, tidyArray, tidyData } from '../helpers/engine';

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
beforeAll(async () => {
  await setTestBackend(backend);
});

const mlmDir = (family: Family): string => path.join(REFERENCE_DIR, 'fixtures', `${family}-mlm`);
const classifierDir = (family: Family): string => path.join(REFERENCE_DIR, 'fixtures', family);

interface MlmInput {
  input_ids: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
  labels: number[][];
}
interface MlmCase extends MlmInput {
  name: string;
  expected: {
    loss: number;
    n_masked: number;
    masked_positions: [number, number][];
    label_logits: number[];
    logsumexp: (number | null)[][];
    logits_at: { row: number; position: number; head_transform: number[]; logits: number[] }[];
  };
}
interface TrainInput extends MlmInput {
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
  clip_coef?: number;
  params_after: Record<string, number[]>;
  loss_after: number;
  label_logits_after: number[];
  label_logits_before?: number[];
  decay_parameter_names?: string[];
  word_embeddings_pad_row_grad?: number[];
  word_embeddings_pad_row_after?: number[];
}
interface CollatorCase {
  name: string;
  mlm_probability: number;
  mask_replace_prob: number;
  random_replace_prob: number;
  mask_token_id: number;
  input_ids: number[][];
  special_tokens_mask: number[][];
  u_select: number[][];
  u_replace: number[][];
  u_random: number[][];
  random_words: number[][];
  expected: { input_ids: number[][]; labels: number[][] };
  counts: { selected: number; mask: number; random: number; unchanged: number };
  texts?: string[];
  attention_mask?: number[][];
}
interface GoldenMlm {
  model: { parameter_names: string[]; saved_keys: string[]; mask_token_id: number; len_tokenizer: number; tied_weights: Record<string, string> };
  collator: CollatorCase[];
  mlm_cases: MlmCase[];
  train_step: { input: TrainInput; expected: TrainExpected; ill_conditioned_parameters: string[] };
  train_steps_3: { input: TrainInput; expected: TrainExpected; ill_conditioned_parameters: string[] };
}

function loadGoldenMlm(family: Family): GoldenMlm {
  return JSON.parse(fs.readFileSync(path.join(mlmDir(family), 'golden_mlm.json'), 'utf8')) as GoldenMlm;
}

function hostBatch(input: MlmInput, _padId: number): HostBatch {
  const batchSize = input.input_ids.length;
  const seqLen = input.input_ids[0]!.length;
  return {
    batchSize,
    seqLen,
    inputIds: Int32Array.from(input.input_ids.flat()),
    attentionMask: Int32Array.from(input.attention_mask ? input.attention_mask.flat() : new Array<number>(batchSize * seqLen).fill(1)),
    tokenTypeIds: Int32Array.from(input.token_type_ids ? input.token_type_ids.flat() : new Array<number>(batchSize * seqLen).fill(0)),
  };
}

function mlmBatch(loaded: LoadedMaskedLm, input: MlmInput): MlmLabeledBatch {
  return mlmBatchTensors(hostBatch(input, loaded.tokenizer.padId), input.labels.flat(), loaded.model.config);
}

/** Logit of the label at each target, from the [n, vocab] target logits. */
async function labelLogits(loaded: LoadedMaskedLm, batch: MlmLabeledBatch): Promise<number[]> {
  const logits = await tidyArray(() => loaded.model.logits(batch.tensors, new ForwardContext(false, 0, activeKernels())));
  return Array.from(batch.labels, (l, i) => logits[i]![l]!);
}

async function evalLoss(loaded: LoadedMaskedLm, batch: MlmLabeledBatch): Promise<number> {
  const mean = await tidyData(() => {
    const logits = loaded.model.logits(batch.tensors, new ForwardContext(false, 0, activeKernels()));
    const logp = tf.logSoftmax(logits, -1);
    return tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(batch.labels, 'int32'), logits.shape[1]), logp), -1));
  });
  return -mean[0]!;
}

const gradTol = (ref: Float32Array, gradNorm: number): number => 1e-4 * ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0) + 1e-6 * gradNorm;

describe.each(FAMILIES)(`%s masked LM (${backend})`, (family: Family) => {
  const golden = loadGoldenMlm(family);
  let loaded: LoadedMaskedLm | null = null;
  let batch: MlmLabeledBatch | null = null;
  let stepper: MlmStepper | null = null;
  afterEach(() => {
    stepper?.dispose();
    if (batch) disposeMlmBatch(batch);
    loaded?.model.dispose();
    loaded = null;
    batch = null;
    stepper = null;
  });

  it('has the *ForMaskedLM parameters (tied matrix once), reads the head from the checkpoint, decays like the Trainer', async () => {
    loaded = await loadMaskedLmFolder(mlmDir(family));
    expect([...loaded.model.store.names()].sort()).toEqual([...golden.model.parameter_names].sort());
    expect(loaded.report.initialised).toEqual([]);
    expect(decayParameterNames(loaded.model).sort()).toEqual([...golden.train_step.expected.decay_parameter_names!].sort());
    expect(Object.keys(loaded.model.head.tied).sort()).toEqual(Object.keys(golden.model.tied_weights).sort());
    expect(mlmVocabulary(loaded.tokenizer, loaded.model.config.vocabSize)).toEqual({
      maskTokenId: golden.model.mask_token_id,
      padId: loaded.model.config.padTokenId,
      randomVocabSize: golden.model.len_tokenizer,
    });
  });

  it.each([0, 1, 2])('logits, label logits, logsumexp and loss of mlm_cases[%i]', async (k) => {
    const c = golden.mlm_cases[k]!;
    loaded = await loadMaskedLmFolder(mlmDir(family));
    batch = mlmBatch(loaded, c);
    expect(batch.tensors.targets).toBe(c.expected.n_masked);
    expect(maxAbsDiff(await labelLogits(loaded, batch), c.expected.label_logits)).toBeLessThanOrEqual(1e-4);
    expect(Math.abs((await evalLoss(loaded, batch)) - c.expected.loss)).toBeLessThanOrEqual(1e-5);
    // Every position: the plain batch gives [B*T, vocab] logits and, in the trace, the head transform.
    const plain = batchTensors(hostBatch(c, loaded.tokenizer.padId), loaded.model.config);
    const trace: ForwardTrace = { layers: [] };
    const logitsT = tf.tidy(() => loaded!.model.logits(plain, new ForwardContext(false, 0, activeKernels()), trace));
    const [all, head] = [(await logitsT.array()) as number[][], (await trace.pooled!.array()) as number[][]];
    logitsT.dispose();
    tf.dispose([trace.embeddings, trace.embeddingsProjected, trace.pooled, ...trace.layers].filter((t): t is tf.Tensor2D => !!t));
    disposeBatch(plain);
    const seqLen = c.input_ids[0]!.length;
    c.expected.logsumexp.forEach((row, b) =>
      row.forEach((lse, t) => {
        if (lse === null) return;
        const r = all[b * seqLen + t]!;
        const m = Math.max(...r);
        const ours = m + Math.log(r.reduce((s, x) => s + Math.exp(x - m), 0));
        expect(Math.abs(ours - lse), `logsumexp at ${b},${t}`).toBeLessThanOrEqual(1e-4);
      }),
    );
    for (const at of c.expected.logits_at) {
      expect(maxAbsDiff(all[at.row * seqLen + at.position]!, at.logits)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(head[at.row * seqLen + at.position]!, at.head_transform)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('gradients (lookup + tied decoder), loss, grad norm and clip coefficient of the golden step', async () => {
    const ts = golden.train_step;
    loaded = await loadMaskedLmFolder(mlmDir(family));
    batch = mlmBatch(loaded, ts.input);
    stepper = new MlmStepper(loaded.model, { weightDecay: ts.input.weight_decay, maxGradNorm: ts.input.max_grad_norm }, activeKernels());
    const { loss, grads } = await stepper.gradientsAsync([batch], [new ForwardContext(false, 0, activeKernels())]);
    expect(Math.abs(loss - ts.expected.loss)).toBeLessThanOrEqual(1e-5);
    const { gradNorm, clipCoef } = await stepper.optimizer.clipAsync(grads, ts.input.max_grad_norm);
    expect(Math.abs(gradNorm - ts.expected.grad_norm) / ts.expected.grad_norm).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(clipCoef - ts.expected.clip_coef!)).toBeLessThanOrEqual(1e-6);
    const ref = readSafetensors(path.join(mlmDir(family), 'golden_mlm_grads.safetensors'));
    expect([...grads.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [name, g] of grads) {
      const r = ref.get(name)!;
      expect(maxAbsDiff(await g.data(), r.data), name).toBeLessThanOrEqual(gradTol(r.data, ts.expected.grad_norm));
    }
    // The pad row of the word embeddings gets the decoder part of the gradient (and no lookup part).
    const word = loaded.model.wordEmbedding;
    const h = loaded.model.config.embeddingSize;
    const pad = loaded.model.config.padTokenId;
    const padRow = Array.from((await grads.get(word)!.data()).slice(pad * h, (pad + 1) * h));
    expect(maxAbsDiff(padRow, ts.expected.word_embeddings_pad_row_grad!)).toBeLessThanOrEqual(gradTol(ref.get(word)!.data, ts.expected.grad_norm));
    for (const g of grads.values()) g.dispose();
  });

  it('AdamW applied to the golden gradients reproduces golden_mlm_params_after', async () => {
    const ts = golden.train_step;
    loaded = await loadMaskedLmFolder(mlmDir(family));
    const model = loaded.model;
    const ref = readSafetensors(path.join(mlmDir(family), 'golden_mlm_grads.safetensors'));
    const after = readSafetensors(path.join(mlmDir(family), 'golden_mlm_params_after.safetensors'));
    const decay = new Set(decayParameterNames(model));
    const opt = new AdamW(
      model.store.names().map((name) => ({ name, variable: model.store.get(name), decay: decay.has(name) })),
      { ...TRAINER_ADAMW, weightDecay: ts.input.weight_decay },
      activeKernels(),
    );
    const grads = new Map([...ref].map(([k, t]) => [k, tf.tensor(t.data, t.shape)] as const));
    const { clipCoef } = await opt.clipAsync(grads, ts.input.max_grad_norm);
    opt.apply(grads, ts.input.lr, clipCoef);
    tf.dispose([...grads.values()]);
    for (const name of model.store.names()) expect(maxAbsDiff(await model.store.get(name).data(), after.get(name)!.data), name).toBeLessThanOrEqual(1e-6);
    opt.dispose();
  });

  it.each([
    ['one step', 'train_step'],
    ['three steps', 'train_steps_3'],
  ] as const)('%s end to end: losses, parameters, label logits after, no tensor leak', async (_label, key) => {
    const spec = golden[key];
    const ill = new Set(spec.ill_conditioned_parameters);
    loaded = await loadMaskedLmFolder(mlmDir(family));
    const model = loaded.model;
    batch = mlmBatch(loaded, spec.input);
    if (spec.expected.label_logits_before) expect(maxAbsDiff(await labelLogits(loaded, batch), spec.expected.label_logits_before)).toBeLessThanOrEqual(1e-4);
    stepper = new MlmStepper(model, { weightDecay: spec.input.weight_decay, maxGradNorm: spec.input.max_grad_norm }, activeKernels());
    const lrs = spec.input.lrs ?? [spec.input.lr];
    const losses: number[] = [];
    const norms: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < (spec.input.steps ?? 1); i++) {
      const out = await stepper.stepAsync([batch], [new ForwardContext(false, 0, activeKernels())], lrs[i]!);
      losses.push(out.loss);
      norms.push(out.gradNorm);
      expect(out.targets).toBe(batch.tensors.targets);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    }
    losses.forEach((l, i) => expect(Math.abs(l - spec.expected.losses[i]!)).toBeLessThanOrEqual(1e-5));
    norms.forEach((n, i) => expect(Math.abs(n - spec.expected.grad_norms[i]!) / spec.expected.grad_norms[i]!).toBeLessThanOrEqual(1e-4));
    const sumLr = lrs.reduce((a, b) => a + b, 0);
    const initial = readSafetensors(path.join(mlmDir(family), 'model.safetensors'));
    for (const [name, first8] of Object.entries(spec.expected.params_after)) {
      const ours = await model.store.get(name).data();
      if (ill.has(name)) {
        expect(maxAbsDiff(ours, initial.get(name)!.data), name).toBeLessThanOrEqual(sumLr * 1.0001);
        continue;
      }
      expect(maxAbsDiff(Array.from(ours.slice(0, 8)), first8), name).toBeLessThanOrEqual(1e-4);
    }
    if (key === 'train_step') {
      const after = readSafetensors(path.join(mlmDir(family), 'golden_mlm_params_after.safetensors'));
      expect([...after.keys()].sort()).toEqual(model.store.names().sort());
      let beyond = 0;
      let total = 0;
      for (const name of model.store.names()) {
        if (ill.has(name)) continue;
        const ours = await model.store.get(name).data();
        const ref = after.get(name)!.data;
        expect(maxAbsDiff(ours, ref), name).toBeLessThanOrEqual(1e-3);
        for (let i = 0; i < ref.length; i++) if (Math.abs(ours[i]! - ref[i]!) > 1e-6) beyond++;
        total += ref.length;
      }
      expect(beyond / total).toBeLessThanOrEqual(1e-3);
      // The pad row moves (decoder gradient), exactly as the reference's.
      const h = model.config.embeddingSize;
      const pad = model.config.padTokenId;
      const padRow = Array.from((await model.store.get(model.wordEmbedding).data()).slice(pad * h, (pad + 1) * h));
      expect(maxAbsDiff(padRow, spec.expected.word_embeddings_pad_row_after!)).toBeLessThanOrEqual(1e-4);
    }
    expect(Math.abs((await evalLoss(loaded, batch)) - spec.expected.loss_after)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(await labelLogits(loaded, batch), spec.expected.label_logits_after)).toBeLessThanOrEqual(1e-4);
  });

  it.each([0, 1, 2])('masking rule on the golden draws of collator[%i] (exact)', (k) => {
    const c = golden.collator[k]!;
    const out = applyMaskingRule(
      c.input_ids.flat(),
      c.special_tokens_mask.flat(),
      { uSelect: c.u_select.flat(), uReplace: c.u_replace.flat(), uRandom: c.u_random.flat(), randomWords: c.random_words.flat() },
      c.mask_token_id,
      { mlmProbability: c.mlm_probability, maskReplaceProb: c.mask_replace_prob, randomReplaceProb: c.random_replace_prob },
    );
    expect(Array.from(out.inputIds)).toEqual(c.expected.input_ids.flat());
    expect(Array.from(out.labels)).toEqual(c.expected.labels.flat());
  });

  it('tokenises the collator texts into the golden ids and special-token mask', async () => {
    const c = golden.collator[0]!;
    loaded = await loadMaskedLmFolder(mlmDir(family));
    const rows = c.texts!.map((t) => encodeForMlm(loaded!.tokenizer, t, 64));
    const seqLen = c.input_ids[0]!.length;
    rows.forEach((r, b) => {
      const len = c.attention_mask![b]!.reduce((s, x) => s + x, 0);
      expect(r.ids).toEqual(c.input_ids[b]!.slice(0, len));
      expect(r.specialTokensMask).toEqual(c.special_tokens_mask[b]!.slice(0, len));
      expect(c.special_tokens_mask[b]!.slice(len)).toEqual(new Array<number>(seqLen - len).fill(1));
    });
  });

  it('a model loaded from the classifier checkpoint gets a new head initialised like transformers', async () => {
    loaded = await loadMaskedLmFolder(classifierDir(family), { seed: 7 });
    const model = loaded.model;
    expect([...loaded.report.initialised].sort()).toEqual([...model.headParams].sort());
    expect(loaded.report.ignored.length).toBeGreaterThan(0);
    const dense = Array.from((await model.store.get(model.transform.weight).data()) as Float32Array);
    const mean = dense.reduce((s, x) => s + x, 0) / dense.length;
    const std = Math.sqrt(dense.reduce((s, x) => s + (x - mean) ** 2, 0) / dense.length);
    expect(Math.abs(std - model.config.initializerRange)).toBeLessThan(0.003);
    expect(Array.from(await model.store.get(model.transform.bias).data()).every((x) => x === 0)).toBe(true);
    expect(Array.from(await model.store.get(model.head.bias).data()).every((x) => x === 0)).toBe(true);
    expect(Array.from(await model.store.get(model.norm.weight).data()).every((x) => x === 1)).toBe(true);
    expect(Array.from(await model.store.get(model.norm.bias).data()).every((x) => x === 0)).toBe(true);
    // The encoder is the classifier's, bit for bit.
    const source = readSafetensors(path.join(classifierDir(family), 'model.safetensors'));
    const word = model.wordEmbedding;
    expect(maxAbsDiff(await model.store.get(word).data(), source.get(word)!.data)).toBe(0);
  });

  it('saves a *ForMaskedLM folder with the save_pretrained keys, which loads back and initialises a classifier', async () => {
    loaded = await loadMaskedLmFolder(mlmDir(family));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `mlm-${family}-`));
    const out = path.join(tmp, 'model');
    try {
      saveMaskedLmFolder(out, loaded.model, { tokenizer: loaded.tokenizer.files, sourceDir: mlmDir(family) });
      const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      const ref = JSON.parse(fs.readFileSync(path.join(mlmDir(family), 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config.architectures).toEqual(ref.architectures);
      expect(config.tie_word_embeddings).toBe(true);
      expect(config.id2label).toBeUndefined();
      const saved = readSafetensors(path.join(out, 'model.safetensors'));
      expect([...saved.keys()].sort()).toEqual([...golden.model.saved_keys].sort());
      const original = readSafetensors(path.join(mlmDir(family), 'model.safetensors'));
      for (const [k, t] of original) expect(maxAbsDiff(saved.get(k)!.data, t.data), k).toBe(0);
      // Round trip as a masked LM.
      const again = await loadMaskedLmFolder(out);
      expect(again.report.initialised).toEqual([]);
      again.model.dispose();
      // A sequence classifier from the adapted encoder: base weights load, the head is new.
      const clf = await loadModelFolder(out, { labels: ['a', 'b', 'c'] });
      try {
        expect(clf.report.initialised.length).toBeGreaterThan(0);
        expect(clf.report.initialised.every((n) => clf.model.headParams.includes(n))).toBe(true);
        expect(clf.report.ignored.some((n) => loaded!.model.headParams.includes(n))).toBe(true);
        for (const name of clf.model.store.names()) {
          if (clf.model.headParams.includes(name)) continue;
          expect(maxAbsDiff(await clf.model.store.get(name).data(), original.get(name)!.data), name).toBe(0);
        }
      } finally {
        clf.model.store.dispose();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe(`masked-LM details (${backend})`, () => {
  it('the word-embedding lookup gives the pad row no gradient when a random replacement puts the pad id at a real position', async () => {
    const loaded = await loadMaskedLmFolder(mlmDir('bert'));
    const model = loaded.model;
    const pad = model.config.padTokenId;
    // Row: [CLS] a b [PAD-as-token] c [SEP]; targets at 1 and 4 (the pad-id token itself is not a target).
    const host: HostBatch = { batchSize: 1, seqLen: 6, inputIds: Int32Array.from([101, 457, 190, pad, 223, 102]), attentionMask: new Int32Array(6).fill(1), tokenTypeIds: new Int32Array(6) };
    const batch = mlmBatchTensors(host, [-100, 457, -100, -100, 223, -100], model.config);
    const stepper = new MlmStepper(model, { weightDecay: 0, maxGradNorm: null }, activeKernels());
    const { grads } = await stepper.gradientsAsync([batch], [new ForwardContext(false, 0, activeKernels())]);
    const h = model.config.hiddenSize;
    const padGrad = (await grads.get(model.wordEmbedding)!.data()).slice(pad * h, (pad + 1) * h);
    // Decoder part only: d loss / d E[pad] = mean over targets of (softmax(logits)[pad] - [label == pad]) * head_transform.
    const expected = await (async () => {
      const trace: ForwardTrace = { layers: [] };
      const probs = tf.tidy(() => tf.softmax(model.logits(batch.tensors, new ForwardContext(false, 0, activeKernels()), trace), -1));
      const p = (await probs.array()) as number[][];
      const hh = (await trace.pooled!.array()) as number[][];
      tf.dispose([probs, ...[trace.embeddings, trace.pooled, ...trace.layers].filter((t): t is tf.Tensor2D => !!t)]);
      const out = new Array<number>(h).fill(0);
      p.forEach((row, i) => hh[i]!.forEach((x, j) => (out[j]! += ((row[pad]! - (batch.labels[i] === pad ? 1 : 0)) * x) / p.length)));
      return out;
    })();
    expect(maxAbsDiff(padGrad, expected)).toBeLessThanOrEqual(1e-6);
    // Without the padding_idx rule, the lookup part would be large here.
    const lookupPart = (await grads.get(model.wordEmbedding)!.data()).slice(457 * h, 458 * h);
    expect(Math.max(...Array.from(lookupPart, Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([...grads.values()]);
    stepper.dispose();
    disposeMlmBatch(batch);
    model.dispose();
  });

  it('a batch without targets: zero gradients, NaN loss kept out of the logged loss, AdamW still decays', async () => {
    const loaded = await loadMaskedLmFolder(mlmDir('distilbert'));
    const model = loaded.model;
    const host: HostBatch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([101, 457, 190, 102]), attentionMask: new Int32Array(4).fill(1), tokenTypeIds: new Int32Array(4) };
    const batch = mlmBatchTensors(host, [-100, -100, -100, -100], model.config);
    const stepper = new MlmStepper(model, { weightDecay: 0.1, maxGradNorm: 1 }, activeKernels());
    const word = model.wordEmbedding;
    const before = (await model.store.get(word).data()).slice();
    const tensors = tf.memory().numTensors;
    const out = await stepper.stepAsync([batch], [new ForwardContext(false, 0, activeKernels())], 0.01);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(out.targets).toBe(0);
    expect(Number.isNaN(out.loss)).toBe(true);
    expect(out.gradNorm).toBe(0);
    const after = await model.store.get(word).data();
    // Zero gradient: the update is the decay p *= 1 - lr * wd only.
    expect(maxAbsDiff(after, before.map((x) => x * (1 - 0.01 * 0.1)))).toBeLessThanOrEqual(1e-7);
    const meter = new MlmLossMeter();
    expect(meter.add(6)).toBe(6);
    expect(meter.add(Number.NaN)).toBe(6);
    expect(meter.add(3)).toBe(3);
    expect(meter.mean()).toBe(5);
    stepper.dispose();
    disposeMlmBatch(batch);
    model.dispose();
  });
});

describe('masking rule statistics (own RNG)', () => {
  let rows: MlmRow[] = [];
  const vocab = { maskTokenId: 103, padId: 0, randomVocabSize: 572 };
  beforeAll(() => {
    // 2,000 rows of 20-40 tokens: [CLS] content [SEP], content ids outside the special ids.
    const r = new Rng(11);
    rows = Array.from({ length: 2000 }, () => {
      const len = 20 + r.int(21);
      const ids = [101, ...Array.from({ length: len }, () => 104 + r.int(468)), 102];
      return { ids, specialTokensMask: ids.map((_, i) => (i === 0 || i === ids.length - 1 ? 1 : 0)) };
    });
  });
  afterAll(() => {
    rows = [];
  });

  it('~15 % chosen, 80 / 10 / 10 split, never special or padding, labels the original ids', () => {
    const rng = new Rng(1234);
    let maskable = 0;
    let selected = 0;
    let masked = 0;
    let changed = 0;
    let unchanged = 0;
    const randomIds = new Set<number>();
    for (let start = 0; start < rows.length; start += 16) {
      const c = collateMlm(rows.slice(start, start + 16), vocab, rng);
      for (let i = 0; i < c.labels.length; i++) {
        const special = c.specialTokensMask[i] === 1;
        if (!special) maskable++;
        if (c.labels[i] === IGNORE_INDEX) {
          // Not selected: input unchanged (special tokens and padding included).
          expect(c.host.inputIds[i]).toBe(c.originalIds[i]);
          continue;
        }
        expect(special).toBe(false);
        expect(c.host.attentionMask[i]).toBe(1);
        expect(c.labels[i]).toBe(c.originalIds[i]);
        selected++;
        const now = c.host.inputIds[i]!;
        if (now === vocab.maskTokenId) masked++;
        else if (now !== c.originalIds[i]) {
          changed++;
          randomIds.add(now);
        } else unchanged++;
      }
    }
    expect(maskable).toBeGreaterThanOrEqual(50_000);
    const share = selected / maskable;
    expect(Math.abs(share - 0.15)).toBeLessThanOrEqual(5 * Math.sqrt((0.15 * 0.85) / maskable));
    const tol = 5 * Math.sqrt(0.16 / selected);
    expect(Math.abs(masked / selected - 0.8)).toBeLessThanOrEqual(tol);
    expect(Math.abs(changed / selected - 0.1)).toBeLessThanOrEqual(tol);
    expect(Math.abs(unchanged / selected - 0.1)).toBeLessThanOrEqual(tol);
    // Random replacements span the whole vocabulary, ids absent from the batch (specials, [unused]) included.
    expect([...randomIds].some((id) => id < 104)).toBe(true);
    expect(Math.max(...randomIds)).toBeGreaterThan(560);
  });

  it('is seeded: the same seed gives the same masks, another seed others', () => {
    const a = collateMlm(rows.slice(0, 8), vocab, new Rng(5));
    const b = collateMlm(rows.slice(0, 8), vocab, new Rng(5));
    const c = collateMlm(rows.slice(0, 8), vocab, new Rng(6));
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.host.inputIds)).toEqual(Array.from(b.host.inputIds));
    expect(Array.from(a.labels)).not.toEqual(Array.from(c.labels));
  });

  it('draws every array over every position, in transformers order', () => {
    const d = drawMasks(new Rng(3), 10, 572);
    const r = new Rng(3);
    const seq = Array.from({ length: 30 }, () => r.next());
    expect(Array.from(d.uSelect)).toEqual(seq.slice(0, 10));
    expect(Array.from(d.uReplace)).toEqual(seq.slice(10, 20));
    expect(Array.from(d.uRandom)).toEqual(seq.slice(20, 30));
    expect(DEFAULT_MASKING).toEqual({ mlmProbability: 0.15, maskReplaceProb: 0.8, randomReplaceProb: 0.1 });
  });
});

describe(`masked-LM pretraining loop (${backend})`, () => {
  const texts = [
    'Stocks rally as the market opens higher on strong earnings.',
    'The team won the final game!',
    'Prices rose on the market as earnings were strong.',
    'NASA launches a new satellite to study the climate of Mars.',
    'The final game of the team was strong.',
    'A new satellite will study the climate.',
  ].flatMap((t) => [t, t.toLowerCase()]);
  const options = { epochs: 4, batchSize: 6, learningRate: 5e-3, weightDecay: 0.01, warmupRatio: 0.1, maxGradNorm: 1, maxLength: 64, seed: 9 };

  it('lowers the loss, is deterministic by seed, leaks no tensors, and resumes to the same weights', async () => {
    const runs: { losses: number[]; word: Float32Array }[] = [];
    for (let r = 0; r < 2; r++) {
      const { model, tokenizer } = await loadMaskedLmFolder(mlmDir('bert'));
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      const result = await pretrainMaskedLm(model, tokenizer, texts, options, (p) => void losses.push(p.loss));
      expect(tf.memory().numTensors).toBe(before);
      expect(result.steps).toBe(options.epochs * Math.ceil(texts.length / options.batchSize));
      expect(result.epochLosses[3]!).toBeLessThan(result.epochLosses[0]! - 0.3);
      runs.push({ losses, word: Float32Array.from(await model.store.get(model.wordEmbedding).data()) });
      model.dispose();
    }
    expect(runs[1]!.losses).toEqual(runs[0]!.losses);
    // Interrupted after step 5, resumed from the weights and optimizer state it had then.
    const { model, tokenizer } = await loadMaskedLmFolder(mlmDir('bert'));
    const abort = new AbortController();
    let state: { step: number; moments: Map<string, { m: Float32Array; v: Float32Array }> } | undefined;
    await expect(
      pretrainMaskedLm(model, tokenizer, texts, options, async (p, opt) => {
        if (p.step === 5) {
          await opt.prefetchMoments(activeKernels().backend);
          state = { step: opt.step, moments: new Map([...opt.moments()].map(([k, s]) => [k, { m: s.m.slice(), v: s.v.slice() }])) };
          abort.abort();
        }
      }, abort.signal),
    ).rejects.toThrow(PretrainCancelled);
    const resumed: number[] = [];
    await pretrainMaskedLm(model, tokenizer, texts, { ...options, startStep: 5, optimizerState: state }, (p) => void resumed.push(p.loss));
    if (backend === 'webgpu') {
      // The GPU picks shader variants by where a tensor's data lives (restored moments arrive from
      // the host): the resumed run agrees to float rounding, not bit for bit.
      expect(maxAbsDiff(resumed, runs[0]!.losses.slice(5))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(await model.store.get(model.wordEmbedding).data(), runs[0]!.word)).toBeLessThanOrEqual(1e-6);
    } else {
      expect(resumed).toEqual(runs[0]!.losses.slice(5));
      expect(maxAbsDiff(await model.store.get(model.wordEmbedding).data(), runs[0]!.word)).toBe(0);
    }
    model.dispose();
  });
  it('the log unigram prior counts the non-special tokens, add-one smoothed over the vocabulary', () => {
    const rows: MlmRow[] = [
      { ids: [2, 5, 5, 7, 3], specialTokensMask: [1, 0, 0, 0, 1] },
      { ids: [2, 5, 3], specialTokensMask: [1, 0, 1] },
    ];
    const prior = logUnigramPrior(rows, 10);
    // 4 counted tokens (5 three times, 7 once), denominator 4 + 10.
    expect(prior[5]).toBeCloseTo(Math.log(4 / 14), 6);
    expect(prior[7]).toBeCloseTo(Math.log(2 / 14), 6);
    for (const id of [0, 2, 3, 9]) expect(prior[id]).toBeCloseTo(Math.log(1 / 14), 6);
    expect(prior.reduce((sum, l) => sum + Math.exp(l), 0)).toBeCloseTo(1, 5);
  });

  it('with a new head: the bias starts at the log prior of the texts and the word embeddings stay frozen', async () => {
    const read = async (m: { store: { get(n: string): tf.Variable } }, n: string) => Float32Array.from((await m.store.get(n).data()) as Float32Array);
    for (const learningRate of [0, options.learningRate]) {
      const { model, tokenizer, report } = await loadMaskedLmFolder(classifierDir('bert'), { seed: 3 });
      expect(isNewMlmHead(model, report)).toBe(true);
      const word = await read(model, model.wordEmbedding);
      const layer = 'bert.encoder.layer.0.attention.self.query.weight';
      const query = await read(model, layer);
      const before = tf.memory().numTensors;
      await pretrainMaskedLm(model, tokenizer, texts, { ...options, epochs: 2, learningRate, newHead: true });
      expect(tf.memory().numTensors).toBe(before);
      expect(maxAbsDiff(await read(model, model.wordEmbedding), word)).toBe(0);
      const bias = await read(model, model.head.bias);
      const prior = logUnigramPrior(tokenizeForPretraining(tokenizer, texts, options.maxLength), model.config.vocabSize);
      if (learningRate === 0) {
        expect(maxAbsDiff(bias, prior)).toBe(0);
        expect(maxAbsDiff(await read(model, layer), query)).toBe(0);
      } else {
        // The rest trains: the encoder and the bias move away from where they started.
        expect(maxAbsDiff(await read(model, layer), query)).toBeGreaterThan(0);
        expect(maxAbsDiff(bias, prior)).toBeGreaterThan(0);
      }
      model.dispose();
    }
    // A loaded head (the *ForMaskedLM checkpoint) is not new, and without newHead the embeddings train (transformers).
    const { model, tokenizer, report } = await loadMaskedLmFolder(mlmDir('bert'));
    expect(isNewMlmHead(model, report)).toBe(false);
    const word = await read(model, model.wordEmbedding);
    await pretrainMaskedLm(model, tokenizer, texts, { ...options, epochs: 1 });
    expect(maxAbsDiff(await read(model, model.wordEmbedding), word)).toBeGreaterThan(0);
    model.dispose();
  });
});
