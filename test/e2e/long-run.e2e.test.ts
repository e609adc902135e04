/**
 * A long run in the browser: 60,000 recorded steps and 30 evaluations, then live steps arriving
 * fast (a GPU's pace, 200 steps in about 2 s). The charts stay bounded (downsampled), updates
 * are batched per frame; frames over 100 ms are reported (a verdict must not depend on speed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { RECOMMENDED_OPTIONS } from '../../src/shared/run-config';
import type { EvalMetrics, StepMetric } from '../../src/shared/types';
import { installFrameMonitor, launchBrowser, openSession, RESULTS_DIR, type Session } from '../helpers/browser';

const RECORDED = 60_000;
const LIVE = 200;
const TOTAL = 80_000;
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

let browser: Browser;
let s: Session;
beforeAll(async () => {
  browser = await launchBrowser();
  s = await openSession(browser);
}, 60_000);
afterAll(async () => {
  await s?.close();
  await browser?.close();
});

function stepAt(step: number): StepMetric {
  return {
    step,
    epoch: (4 * step) / TOTAL,
    loss: 1.4 * Math.exp(-step / 8000) + 0.2 + 0.15 * Math.sin(step * 12.9898) ** 2,
    learningRate: 2e-5 * (1 - step / TOTAL),
    samplesPerSecond: 400,
  };
}

function evalAt(i: number): EvalMetrics {
  const acc = 0.7 + 0.24 * (1 - Math.exp(-i / 6));
  return {
    step: (i + 1) * 2000,
    epoch: ((i + 1) * 2000 * 4) / TOTAL,
    evalLoss: 1 - acc,
    accuracy: acc,
    macroF1: acc - 0.01,
    perClass: LABELS.map((label, k) => ({ label, precision: acc - k * 0.01, recall: acc, f1: acc - k * 0.005, support: 1900 })),
    confusion: LABELS.map((_, t) => LABELS.map((__, p) => (t === p ? Math.round(1900 * acc) : Math.round((1900 * (1 - acc)) / 3)))),
  };
}

describe('a long run stays responsive', () => {
  it('opens 60,000 recorded steps and follows fast live steps (frames reported)', { timeout: 120_000 }, async () => {
    const id = '20260101-000000-long01';
    s.app.runs.create({
      id,
      name: 'Long run',
      config: {
        name: 'Long run',
        model: { source: 'roberta-base', path: '/models/roberta-base' },
        labels: LABELS,
        dataset: { fingerprint: 'f'.repeat(64), name: 'ag_news', trainCount: TOTAL * 4, evalCount: 7600, path: null },
        options: { ...RECOMMENDED_OPTIONS, epochs: 4, batchSize: 16 },
      },
      modelId: 'roberta-base',
      datasetName: 'ag_news',
    });
    s.app.runs.setStatus(id, 'running', { backend: 'tensorflow-gpu' });
    for (let from = 1; from <= RECORDED; from += 5000) {
      s.app.runs.addSteps(id, Array.from({ length: 5000 }, (_, i) => stepAt(from + i)));
    }
    for (let i = 0; i < 30; i++) s.app.runs.addEval(id, evalAt(i));

    const monitor = await installFrameMonitor(s.page, 100);
    await s.page.goto(`${s.host.url}#/train/${id}`);
    await s.page.locator(`[data-testid="run-charts"][data-steps="${RECORDED}"]`).waitFor({ timeout: 60_000 });
    const opening = await monitor.report();
    await monitor.reset();

    // Live steps at a GPU's pace: one every 10 ms.
    for (let step = RECORDED + 1; step <= RECORDED + LIVE; step++) {
      s.app.events.emit('run-step', { runId: id, ...stepAt(step), totalSteps: TOTAL, gradNorm: 1, samplesPerSecond: 400, tokensPerSecond: 50_000, etaSeconds: (TOTAL - step) / 25, elapsedSeconds: step / 25 });
      if (step % 10 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await s.page.locator(`[data-testid="run-charts"][data-steps="${RECORDED + LIVE}"]`).waitFor({ timeout: 30_000 });
    const live = await monitor.report();
    await s.screenshot('long-run-live');

    // The charts draw a bounded number of points however long the run.
    const drawn = await s.page.evaluate(() => {
      const legend = document.querySelector('[data-testid="chart-loss"] .u-legend');
      return legend ? legend.textContent : '';
    });
    expect(drawn).toMatch(/60,?200|60200/);
    fs.writeFileSync(path.join(RESULTS_DIR, 'long-run-frames.json'), JSON.stringify({ opening, live }, null, 2) + '\n');
    console.log(`long run: opening ${JSON.stringify(opening)}; live ${JSON.stringify(live)}`);
    // Long frames are reported (test-results/long-run-frames.json), not failed: a test's verdict
    // must not depend on the machine's speed. What is held: the 60,000 steps open and the live
    // steps are drawn (above), with no page error (below).
    const ours = live.over.filter((f) => live.entryType !== 'long-animation-frame' || f.scriptMs + f.renderMs >= live.budgetMs / 2);
    if (ours.length) console.log(`long frames (reported, not failed): ${JSON.stringify(ours)}`);
    expect(s.errors).toEqual([]);
  });
});
