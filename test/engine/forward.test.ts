import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { tf } from '../../src/main/engine/tf';
import { loadModelFolder, type LoadedModel } from '../../src/main/engine/load';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { ForwardContext, type ForwardTrace } from '../../src/main/engine/models/layers';
import { activate } from '../../src/main/engine/models/layers';
import { FAMILIES, fixtureDir, loadGolden, type Family } from '../helpers/reference';
import { maxAbsDiff, setTestBackend, tidyArray, tidyData } from '../helpers/engine';
import { predictLogitsAsync } from '../../src/main/engine/step';
import { hostRuntime } from '../../src/main/engine/models/host';
import { useHeavyTimeouts } from './timeouts';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';

beforeAll(async () => {
  await setTestBackend(backend);
});

function rowsOf(c: { input_ids: number[][]; attention_mask?: number[][]; token_type_ids?: number[][] }) {
  return c.input_ids.map((ids, i) => {
    const mask = c.attention_mask?.[i];
    const len = mask ? mask.reduce((a, b) => a + b, 0) : ids.length;
    return { ids: ids.slice(0, len), typeIds: c.token_type_ids?.[i]?.slice(0, len) };
  });
}

describe.each(FAMILIES)(`%s forward (${backend})`, (family: Family) => {
  let loaded: LoadedModel;
  const golden = loadGolden(family);
  beforeAll(async () => {
    loaded = await loadModelFolder(fixtureDir(family));
  });
  afterAll(() => loaded?.model.store.dispose());

  it('loads every weight with nothing missing or unexpected', () => {
    expect(loaded.report.initialised).toEqual([]);
    expect(loaded.report.loaded).toBe(loaded.model.store.specs.size);
  });

  it('matches the activation table', async () => {
    const y = await tidyData(() => activate(tf.tensor1d(golden.activation.x), loaded.model.config.hiddenAct, activeKernels()));
    expect(maxAbsDiff(Array.from(y), golden.activation.y)).toBeLessThanOrEqual(1e-6);
  });

  it.each(golden.logits_cases.map((c) => [c.name, c] as const))('logits: %s', async (_name, c) => {
    const host = padRows(rowsOf(c as never), loaded.tokenizer.padId);
    // Keep the golden padding where rows were padded in the reference input: same logits either way.
    const batch = batchTensors(host, loaded.model.config);
    const logits = await tidyArray(() => loaded.model.logits(batch, new ForwardContext(false, 0, activeKernels())));
    disposeBatch(batch);
    expect(maxAbsDiff(logits.flat(), c.logits.flat())).toBeLessThanOrEqual(1e-5);
  });

  it.each(golden.logits_cases.map((c) => [c.name, c] as const))('eval-mode predictLogits (the inference path of this backend): %s', async (_name, c) => {
    if (backend === 'native') expect(hostRuntime(activeKernels()), 'the native backend runs inference on host arrays').not.toBeNull();
    const batch = batchTensors(padRows(rowsOf(c as never), loaded.tokenizer.padId), loaded.model.config);
    const before = tf.memory().numTensors;
    const logits = await predictLogitsAsync(loaded.model, batch, activeKernels());
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    expect(maxAbsDiff(logits, c.logits.flat())).toBeLessThanOrEqual(1e-5);
  });

  it('hidden states match layer by layer', async () => {
    const hs = golden.hidden_states as { case: string; embeddings: number[][][]; embeddings_projected?: number[][][]; layers: number[][][][]; pooled: number[][] };
    const c = golden.logits_cases.find((x) => x.name === hs.case)!;
    const full = c.input_ids!.map((ids, i) => ({ ids, typeIds: c.token_type_ids?.[i] }));
    const host = padRows(full, loaded.tokenizer.padId);
    host.attentionMask.set(c.attention_mask!.flat());
    const batch = batchTensors(host, loaded.model.config);
    const trace: ForwardTrace = { layers: [] };
    tf.tidy(() => {
      loaded.model.logits(batch, new ForwardContext(false, 0, activeKernels()), trace);
    });
    const t = host.seqLen;
    const mask = c.attention_mask!;
    // Compare only real (unpadded) token rows: padded query rows are computed but never read.
    const realRows = (x: number[][], b: number) => x.filter((_, j) => mask[b]![j] === 1);
    const cmp = async (ours: tf.Tensor2D, ref: number[][][]) => {
      const arr = await ours.array();
      let worst = 0;
      ref.forEach((rows, b) => {
        worst = Math.max(worst, maxAbsDiff(realRows(arr.slice(b * t, (b + 1) * t), b).flat(), realRows(rows, b).flat()));
      });
      return worst;
    };
    expect(await cmp(trace.embeddings!, hs.embeddings)).toBeLessThanOrEqual(1e-5);
    if (hs.embeddings_projected) expect(await cmp(trace.embeddingsProjected!, hs.embeddings_projected)).toBeLessThanOrEqual(1e-5);
    expect(trace.layers.length).toBe(hs.layers.length);
    for (const [i, l] of trace.layers.entries()) expect(await cmp(l, hs.layers[i]!), `layer ${i}`).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff((await trace.pooled!.array()).flat(), hs.pooled.flat())).toBeLessThanOrEqual(1e-5);
    tf.dispose([trace.embeddings!, trace.embeddingsProjected!, trace.pooled!, ...trace.layers].filter(Boolean));
    disposeBatch(batch);
  });

  it('a padded batch gives the same logits as its rows alone', async () => {
    const c = golden.logits_cases.find((x) => x.name === 'padded_mixed_lengths')!;
    const rows = rowsOf(c as never);
    const together = await (async () => {
      const b = batchTensors(padRows(rows, loaded.tokenizer.padId), loaded.model.config);
      const out = await tidyArray(() => loaded.model.logits(b, new ForwardContext(false, 0, activeKernels())));
      disposeBatch(b);
      return out;
    })();
    for (const [i, row] of rows.entries()) {
      const b = batchTensors(padRows([row], loaded.tokenizer.padId), loaded.model.config);
      const alone = await tidyArray(() => loaded.model.logits(b, new ForwardContext(false, 0, activeKernels())));
      disposeBatch(b);
      expect(maxAbsDiff(alone[0]!, together[i]!)).toBeLessThanOrEqual(1e-5);
    }
  });
});
