/**
 * The Data step names what the format detector could not settle (issue 12.5): a file that reads
 * two ways offers both as a choice, and choosing one reads the file that way; a quote that is
 * never closed is named by its line (the inspection's warning).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openSession, type Session } from '../helpers/browser';

const FIXTURES = path.resolve(__dirname, '../fixtures/data');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function dropFile(page: Page, file: string): Promise<void> {
  await page.evaluate(
    ({ content, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], name, { type: 'text/csv' }));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { content: fs.readFileSync(file, 'utf8'), name: path.basename(file) },
  );
}

describe('Data step: readings the detector could not settle', () => {
  let s: Session;
  afterAll(async () => s?.close());

  it('a file that reads two ways offers both; choosing one reads the file that way', async () => {
    s = await openSession(browser);
    await s.page.goto(s.host.url);
    await s.page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor();
    await dropFile(s.page, path.join(FIXTURES, 'headerless-two-readings.csv'));
    const choice = s.page.locator('[data-testid="reading-choice"]');
    await choice.waitFor({ timeout: 60_000 });
    await expect(choice.locator('legend').textContent()).resolves.toMatch(/This file can be read two ways/);
    const radios = choice.getByRole('radio');
    await expect(radios.count()).resolves.toBe(2);
    await expect(radios.nth(0).isChecked()).resolves.toBe(true);
    await s.screenshot('data-reading-choice', { fullPage: true });
    await radios.nth(1).check();
    const header = s.page.locator('[data-testid="preview-table"] thead th');
    await s.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="preview-table"] thead th')].some((th) => /^\s*label/.test(th.textContent ?? '')), null, { timeout: 60_000 });
    await expect(header.allTextContents()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/^\s*label/), expect.stringMatching(/^\s*text/)]));
    await expect(s.page.locator('[data-testid="file-summary"]').textContent()).resolves.toContain('label first, then the text');
    await expect(radios.nth(1).isChecked()).resolves.toBe(true);
    await s.screenshot('data-reading-chosen', { fullPage: true });
    expect(s.errors).toEqual([]);
  });

  it('a quote never closed is named by its line', async () => {
    await s.close();
    s = await openSession(browser);
    await s.page.goto(s.host.url);
    await s.page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor();
    await dropFile(s.page, path.join(FIXTURES, 'unclosed-quote-line-4.csv'));
    const summary = s.page.locator('[data-testid="file-summary"]');
    await s.page.locator('[data-testid="preview-table"]').waitFor({ timeout: 60_000 });
    // The inspection's own warning names the line (brokenQuotes.lines); no choice is offered.
    await expect(summary.textContent()).resolves.toMatch(/line 4 is never closed/);
    await expect(s.page.locator('[data-testid="reading-choice"]').count()).resolves.toBe(0);
    await s.screenshot('data-broken-quote', { fullPage: true });
    expect(s.errors).toEqual([]);
  });
});
