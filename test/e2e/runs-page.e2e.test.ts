import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSession, type Session } from '../helpers/browser';
import { RECOMMENDED_OPTIONS } from '../../src/shared/run-config';
import { registerInstance, unregisterInstance } from '../../src/main/store/ownership';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('Runs page through the web host', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession(browser);
  });
  afterAll(async () => s?.close());

  it('loads with no console errors and shows the empty state', async () => {
    await s.page.goto(s.host.url);
    await s.page.getByRole('link', { name: 'Runs' }).click();
    await s.page.getByRole('heading', { name: 'No runs yet' }).waitFor();
    await s.screenshot('skeleton-runs-empty');
    expect(s.errors).toEqual([]);
  });

  it('a run inserted in the database appears; rename and delete work', async () => {
    s.app.runs.create({ id: 'run-e2e-1', name: 'RoBERTa on AG News', config: { lr: 2e-5 }, modelId: 'roberta-base', datasetName: 'ag_news' });
    s.app.runs.setStatus('run-e2e-1', 'completed', { backend: 'wasm' });
    s.app.runs.setBest('run-e2e-1', { metricName: 'accuracy', value: 0.9431, accuracy: 0.9431 });
    await s.page.reload();
    const row = s.page.locator('tr[data-run-id="run-e2e-1"]');
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('RoBERTa on AG News');
    await expect(row.textContent()).resolves.toContain('94.3');
    await s.screenshot('skeleton-runs-list');

    await row.getByRole('button', { name: /Rename/ }).click();
    const input = s.page.getByLabel('New name');
    await input.fill('Best AG News model');
    await input.press('Enter');
    await s.page.locator('tr[data-run-id="run-e2e-1"]', { hasText: 'Best AG News model' }).waitFor();
    expect(s.app.runs.summary('run-e2e-1')!.name).toBe('Best AG News model');

    await s.page.locator('tr[data-run-id="run-e2e-1"]').getByRole('button', { name: /Delete/ }).click();
    const dialog = s.page.getByRole('dialog');
    await dialog.waitFor();
    await s.screenshot('skeleton-runs-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete run' }).click();
    await s.page.getByRole('heading', { name: 'No runs yet' }).waitFor();
    expect(s.app.runs.summary('run-e2e-1')).toBeNull();
    expect(s.errors).toEqual([]);
  });

  it('the results of an 8-label run fit a 1440 px window: the confusion matrix is whole or scrolls', async () => {
    const labels = ['Politics', 'Sports', 'Business', 'Science', 'Health', 'Entertainment', 'Travel', 'Education'];
    const id = '20260101-000000-eight1';
    s.app.runs.create({
      id,
      name: 'Eight labels',
      config: {
        name: 'Eight labels',
        model: { source: 'bert-base-uncased', path: '/models/bert' },
        labels,
        dataset: { fingerprint: 'e'.repeat(64), name: 'news8', trainCount: 6400, evalCount: 1600, path: null },
        options: { ...RECOMMENDED_OPTIONS },
      },
      modelId: 'bert-base-uncased',
      datasetName: 'news8',
    });
    s.app.runs.setStatus(id, 'completed', { backend: 'cpu' });
    const confusion = labels.map((_, t) => labels.map((__, p) => (t === p ? 160 : 6)));
    s.app.runs.addEval(
      id,
      { step: 400, epoch: 1, evalLoss: 0.6, accuracy: 0.79, macroF1: 0.79, perClass: labels.map((label) => ({ label, precision: 0.79, recall: 0.8, f1: 0.79, support: 200 })), confusion },
      { metricName: 'accuracy', value: 0.79 },
    );
    await s.page.setViewportSize({ width: 1440, height: 900 });
    await s.page.goto(`${s.host.url}#/runs/${id}`);
    const matrix = s.page.locator('[data-testid="confusion-matrix"]');
    await matrix.waitFor();
    // Every cell is inside the matrix's card, or the matrix scrolls inside it; the page itself is not wider than the window.
    const fit = await s.page.evaluate(() => {
      const table = document.querySelector('[data-testid="confusion-matrix"]')!;
      const wrap = table.closest('.matrix-wrap') as HTMLElement;
      const card = wrap.closest('.card') as HTMLElement;
      const cardBox = card.getBoundingClientRect();
      const wrapBox = wrap.getBoundingClientRect();
      const scrolls = wrap.scrollWidth > wrap.clientWidth && getComputedStyle(wrap).overflowX !== 'visible';
      return {
        pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
        wrapInsideCard: wrapBox.right <= cardBox.right + 1,
        tableFits: table.getBoundingClientRect().right <= cardBox.right + 1,
        scrolls,
      };
    });
    expect(fit.pageOverflow).toBeLessThanOrEqual(0);
    expect(fit.wrapInsideCard).toBe(true);
    expect(fit.tableFits || fit.scrolls).toBe(true);
    // Macro-F1 is a percentage, like the accuracy.
    await expect(s.page.locator('[data-testid="headline"]').textContent()).resolves.toMatch(/79\.0 %\s*Macro-F1/);
    await matrix.scrollIntoViewIfNeeded();
    await s.screenshot('runs-eight-labels-1440');
    expect(s.errors).toEqual([]);
  });

  it('a run another process trains names it and cannot be resumed, cancelled or deleted here; a startup notice shows once', async () => {
    const id = '20260101-000000-other1';
    s.app.runs.create({ id, name: 'Trained in a terminal', config: {}, modelId: 'bert-base-uncased', datasetName: 'ag_news', status: 'running' });
    // This test's own pid is alive; another registered instance id makes it "another window".
    registerInstance('another-instance');
    s.app.runs.claim(id, { pid: process.pid, host: 'cli', startedAt: Date.now(), processStart: null, instance: 'another-instance' });
    s.app.startupNotices.push({ kind: 'database-rebuilt', message: 'The run history was damaged and rebuilt from the run folders.', path: '/data/finetune.db.damaged-1' });
    await s.page.setViewportSize({ width: 1280, height: 800 });
    await s.page.goto(s.host.url);
    await s.page.getByRole('link', { name: 'Runs' }).click();
    const row = s.page.locator(`tr[data-run-id="${id}"]`);
    await row.waitFor();
    await expect(row.locator('[data-testid="run-owner"]').textContent()).resolves.toBe(`Training in another window (finetune train, pid ${process.pid})`);
    await expect(row.getByRole('button', { name: /^Delete/ }).isDisabled()).resolves.toBe(true);
    await expect(row.getByRole('button', { name: /^Cancel/ }).isDisabled()).resolves.toBe(true);
    await expect(row.getByRole('button', { name: /^Delete/ }).getAttribute('title')).resolves.toMatch(/finetune train, pid \d+\)\. Wait for it to finish there/);
    const notice = s.page.locator('[data-testid="startup-notice"]');
    await expect(notice.textContent()).resolves.toContain('The run history was damaged and rebuilt from the run folders.');
    await s.screenshot('runs-owner-and-notice');
    await notice.getByRole('button', { name: /Dismiss/ }).click();
    await expect(notice.count()).resolves.toBe(0);
    await s.page.reload();
    await row.waitFor();
    await expect(notice.count()).resolves.toBe(0);
    s.app.runs.release(id);
    unregisterInstance('another-instance');
    expect(s.errors).toEqual([]);
  });
});
