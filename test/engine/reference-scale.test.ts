/**
 * The goldens use tiny models (hidden 32, 64 tokens). This checks the same functions at the
 * learning-check scale: a bert-tiny shape (hidden 128, vocab 30,522) on real AG News rows of up
 * to 128 tokens, against the Python reference (../shared/reference/hf_reference.py) run here:
 * the loss, every gradient, three optimizer steps and the logits after them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { parseModelConfig } from '../../src/main/hf/config';
import { loadModelFolder } from '../../src/main/engine/load';
import { createModel, initialiseModel } from '../../src/main/engine/models/index';
import { ForwardContext } from '../../src/main/engine/models/layers';
import { readSafetensors } from '../../src/main/hf/safetensors';
import { saveModelFolder } from '../../src/main/engine/save';
import { predictLogitsAsync, Stepper } from '../../src/main/engine/step';
import { readTokenizerFiles } from '../../src/main/engine/tokenizer';
import { agNewsRows } from '../helpers/agnews';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { DATASETS_DIR, REFERENCE_DIR } from '../helpers/reference';
import { useHeavyTimeouts } from './timeouts';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
const python = '/usr/bin/python3';
const torchMissing = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;

let dir: string;
beforeAll(async () => {
  await setTestBackend(backend);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-scale-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(torchMissing)(`bert-tiny scale against the Python reference (${backend})${torchMissing ? ' — skipped: /usr/bin/python3 has no torch (apt-get install python3-torch)' : ''}`, () => {
  it('loss, gradients, three AdamW steps and the logits after them match', async () => {
    const tokDir = path.join(DATASETS_DIR, 'tokenizers/bert-base-uncased');
    const config = parseModelConfig({
      model_type: 'bert', vocab_size: 30522, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512,
      max_position_embeddings: 512, type_vocab_size: 2, id2label: { 0: 'World', 1: 'Sports', 2: 'Business', 3: 'Sci/Tech' },
    });
    const init = createModel(config);
    initialiseModel(init, 3);
    const modelDir = path.join(dir, 'bert-tiny');
    saveModelFolder(modelDir, init, { tokenizer: await readTokenizerFiles(tokDir, 'bert'), sourceDir: tokDir });
    init.store.dispose();

    const loaded = await loadModelFolder(modelDir);
    const rows = agNewsRows('train_5k.csv', 16);
    const enc = rows.map((r) => loaded.tokenizer.encode(r.text, 128));
    const host = padRows(enc, loaded.tokenizer.padId);
    const t = host.seqLen;
    const spec = {
      input_ids: enc.map((e) => [...e.ids, ...new Array<number>(t - e.ids.length).fill(0)]),
      attention_mask: enc.map((e) => [...e.ids.map(() => 1), ...new Array<number>(t - e.ids.length).fill(0)]),
      labels: rows.map((r) => r.label),
      lr: 1e-4, weight_decay: 0.01, max_grad_norm: 1, steps: 3, lrs: [1e-4, 9e-5, 8e-5],
    };
    fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify(spec));
    const ref = JSON.parse(
      execFileSync(python, [path.join(REFERENCE_DIR, 'hf_reference.py'), 'train-step', modelDir, path.join(dir, 'train.json'), '--save-grads', path.join(dir, 'grads.safetensors')], { maxBuffer: 1 << 30 }).toString(),
    ) as { loss: number; grad_norm: number; losses: number[]; logits_after: number[][] };

    const batch = { tensors: batchTensors(host, loaded.model.config), labels: Int32Array.from(spec.labels) };
    const stepper = new Stepper(loaded.model, { weightDecay: 0.01, maxGradNorm: 1 }, activeKernels());
    const { loss, grads } = await stepper.gradientsAsync([batch], [new ForwardContext(false, 0, activeKernels())]);
    expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5);
    const refGrads = readSafetensors(path.join(dir, 'grads.safetensors'));
    for (const [name, g] of grads) {
      // The attention key bias has an exactly-zero gradient: its float32 values are rounding noise.
      if (name.endsWith('attention.self.key.bias')) continue;
      const r = refGrads.get(name)!;
      const refMax = r.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(maxAbsDiff(await g.data(), r.data), name).toBeLessThanOrEqual(1e-4 * refMax + 1e-6 * ref.grad_norm);
      g.dispose();
    }
    const losses: number[] = [];
    for (const lr of spec.lrs) losses.push((await stepper.stepAsync([batch], [new ForwardContext(false, 0, activeKernels())], lr)).loss);
    losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!)).toBeLessThan(1e-5));
    expect(maxAbsDiff(await predictLogitsAsync(loaded.model, batch.tensors, activeKernels()), ref.logits_after.flat())).toBeLessThan(1e-4);
    disposeBatch(batch.tensors);
    stepper.dispose();
    loaded.model.store.dispose();
  });
});
