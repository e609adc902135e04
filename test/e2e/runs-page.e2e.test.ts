import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSession, type Session } from '../helpers/browser';

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
});
