/**
 * The whole product through the web host in Debian's chromium: drop a CSV, change a column,
 * fix a data doctor finding, prepare, pick the fixture model from a local folder (and see a
 * download fail cleanly), measure the speed, set the options, train one epoch while the charts
 * update (no frame over 100 ms), read the results (confusion cell rows, try-it, batch predict,
 * exports), reopen the run from the Runs page, run it again (reload mid-training restores the
 * view), compare two runs, cancel a run in progress; then dark mode and 1920x1080 screenshots.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { installFrameMonitor, launchBrowser, openSession, RESULTS_DIR, type FrameReport, type Session } from '../helpers/browser';
import { agNewsSample } from '../helpers/app';

const FIXTURE_MODEL = path.resolve(__dirname, '../../../shared/reference/fixtures/bert');
const TIMEOUT = 150_000;
/** 160 training rows in batches of 8. */
const STEPS = 20;

let browser: Browser;
let s: Session;
let page: Page;
let monitor: Awaited<ReturnType<typeof installFrameMonitor>>;
let tmp: string;
let csv: string;
let predictCsv: string;
let firstRun = '';
let secondRun = '';
let trainingFrames: FrameReport | null = null;
const savedEnv = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE, FINETUNE_BACKEND: process.env.FINETUNE_BACKEND };

/**
 * A screenshot of the viewport, or of the whole page: the window is made as tall as the page for
 * it (a full-page capture of a scrolled page draws the sticky sidebar in the wrong place).
 */
async function shot(name: string, fullPage = false): Promise<void> {
  if (!fullPage) {
    await s.screenshot(`wizard-${name}`);
    return;
  }
  const size = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 4000)) });
  await page.waitForTimeout(100);
  await s.screenshot(`wizard-${name}`);
  await page.setViewportSize(size);
}
const runStatus = () => page.locator('[data-testid="run-progress"]').getAttribute('data-status');
async function waitForStatus(status: string, timeout = 90_000): Promise<void> {
  await page.locator(`[data-testid="run-progress"][data-status="${status}"]`).waitFor({ timeout });
}
async function stepsShown(): Promise<number> {
  return Number((await page.locator('[data-testid="run-charts"]').getAttribute('data-steps')) ?? '0');
}

beforeAll(async () => {
  // No network: the Hub is a closed port, and the model cache is empty.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-wizard-'));
  process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
  process.env.HF_HUB_CACHE = path.join(tmp, 'hf-cache');
  // The pure JavaScript backend: predictable everywhere (the app's systemInfo says the same).
  process.env.FINETUNE_BACKEND = 'cpu';
  const sample = agNewsSample(tmp, 200);
  // Four repeated rows: the data doctor reports duplicates, with a fix.
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  csv = path.join(tmp, 'ag-news-small.csv');
  fs.writeFileSync(csv, [...lines, ...lines.slice(0, 4)].join('\n') + '\n');
  predictCsv = agNewsSample(tmp, 25, 'test.csv');
  browser = await launchBrowser();
  s = await openSession(browser, { env: { FINETUNE_BACKEND: 'cpu' } });
  page = s.page;
  monitor = await installFrameMonitor(page, 100);
}, 60_000);

afterAll(async () => {
  await s?.close();
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (trainingFrames) {
    fs.writeFileSync(path.join(RESULTS_DIR, 'wizard-frames.json'), JSON.stringify(trainingFrames, null, 2) + '\n');
  }
});

/**
 * Accessibility basics of what the page shows: every control has a name, every field a label,
 * no id twice.
 */
async function a11yProblems(p: Page = page): Promise<string[]> {
  return p.evaluate(() => {
    const problems: string[] = [];
    const visible = (el: Element) => (el as HTMLElement).offsetParent !== null || el.getClientRects().length > 0;
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!visible(el)) continue;
      const name = (el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? '').trim();
      if (!name && !el.getAttribute('aria-labelledby')) problems.push(`no name: ${el.outerHTML.slice(0, 100)}`);
    }
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.getAttribute('aria-hidden') === 'true' || !visible(el)) continue;
      const id = el.id;
      const labelled = (id && document.querySelector(`label[for="${CSS.escape(id)}"]`)) || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!labelled) problems.push(`no label: ${el.outerHTML.slice(0, 100)}`);
    }
    const ids = new Map<string, number>();
    for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
    for (const [id, n] of ids) if (n > 1) problems.push(`id "${id}" used ${n} times`);
    return problems;
  });
}

/** Console errors other than the HTTP status of a call that was meant to fail. */
function unexpectedErrors(allowedApi: string[] = []): string[] {
  return s.errors.filter((e) => !allowedApi.some((m) => e.includes(`/api/${m}`)));
}

describe('the wizard, end to end', () => {
  // Each step builds on the previous one: after a failure the rest would only time out.
  let broken = false;
  beforeEach((ctx) => {
    if (broken) ctx.skip();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    broken = true;
    await page.screenshot({ path: path.join(RESULTS_DIR, 'wizard-FAILED.png'), fullPage: true }).catch(() => undefined);
    console.log(`console errors so far: ${JSON.stringify(s.errors, null, 1)}`);
  });

  it('data: drop a CSV, change a column, name the labels, fix a finding, prepare', { timeout: TIMEOUT }, async () => {
    // Failed resource loads carry their URL only in the location: keep it with the message.
    page.removeAllListeners('console');
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') s.errors.push(`${m.text()} @ ${m.location().url}`);
    });
    await page.goto(s.host.url);
    await page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor();
    await shot('01-data-empty');

    await page.locator('[data-testid="dataset-file-input"]').first().setInputFiles(csv);
    await page.locator('[data-testid="preview-table"]').waitFor();
    await page.locator('[data-finding="duplicates"]').waitFor();
    // The app proposes both text columns (title and description) and the class column.
    await expect(page.locator('#text-col-1').count()).resolves.toBe(1);
    await shot('02-data-inspected', true);

    // Change a column: train on the titles only.
    await page.getByRole('button', { name: /Remove text column 2/ }).click();
    await expect(page.locator('#text-col-1').count()).resolves.toBe(0);
    await expect(page.locator('[data-testid="preview-table"] th .role.text').count()).resolves.toBe(1);

    // Name the numeric labels (the upload has no classes.txt beside it).
    await page.getByText('Name the labels').click();
    for (const [raw, name] of [['1', 'World'], ['2', 'Sports'], ['3', 'Business'], ['4', 'Sci/Tech']]) {
      await page.locator(`[id="name-${raw}"]`).fill(name);
      await page.locator(`[id="name-${raw}"]`).press('Tab');
    }
    await page.locator('[data-testid="columns-card"]').getByText('Sci/Tech').first().waitFor();

    // The duplicates finding has a fix: applying it turns on the clean-up for prepare.
    const dup = page.locator('[data-finding="duplicates"]');
    await dup.getByRole('button', { name: 'Keep one of each duplicate' }).click();
    await dup.getByText('Duplicates will be dropped').waitFor();
    await shot('03-data-mapped', true);
    expect(await a11yProblems()).toEqual([]);

    await page.getByRole('button', { name: 'Prepare dataset' }).click();
    const prepared = page.locator('[data-testid="prepared"]');
    await prepared.waitFor();
    await expect(prepared.textContent()).resolves.toMatch(/160 training and 40 evaluation rows,\s+4 labels/);
    await page.locator('[data-testid="dataset-summary"]').waitFor();
    await shot('04-data-prepared', true);
    expect(unexpectedErrors()).toEqual([]);
  });

  it('model: a failed download says what to do; a local folder; the backend', { timeout: TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Next: choose a model' }).first().click();
    await page.getByRole('heading', { name: 'Model', level: 1 }).waitFor();
    await expect(page.locator('[data-testid="backend"]').textContent()).resolves.toContain('CPU (JavaScript)');
    const cards = page.locator('[data-model]');
    await cards.first().waitFor();
    expect(await cards.count()).toBeGreaterThanOrEqual(5);
    await expect(cards.first().textContent()).resolves.toMatch(/Not downloaded/);

    // No network here: the download fails with a message, not a stack trace.
    const card = cards.first();
    await card.getByRole('button', { name: /^Download / }).click();
    const alert = card.getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    const text = (await alert.textContent()) ?? '';
    expect(text).toMatch(/download failed/i);
    expect(text).not.toMatch(/\bat \S+:\d+/);
    await card.scrollIntoViewIfNeeded();
    await shot('05-model-download-error');

    await page.getByLabel('Folder').fill(FIXTURE_MODEL);
    await page.getByRole('button', { name: 'Use folder' }).click();
    await page.locator('[data-testid="folder-report"]').getByText('ready to train').waitFor();

    await page.locator('[data-testid="estimate-block"]').getByRole('button', { name: 'Measure speed' }).waitFor();
    await shot('06-model-selected', true);
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('settings: presets, inline validation with the reason, truncation share, measured speed', { timeout: TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Next: settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: /^Fast/ }).click();
    await page.locator('button[aria-pressed="true"]', { hasText: 'Fast' }).waitFor();
    await expect(page.getByRole('textbox', { name: 'Epochs' }).inputValue()).resolves.toBe('1');

    const lr = page.getByRole('textbox', { name: 'Learning rate' });
    await lr.fill('abc');
    await page.locator('#opt-learningRate-problem').getByText('enter a number').waitFor();
    await expect(page.getByRole('button', { name: 'Start training' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('textbox', { name: 'Batch size', exact: true }).fill('0');
    await page.locator('#opt-batchSize-problem').getByText('the batch size must be at least 1').waitFor();
    await shot('07-settings-invalid');

    await lr.fill('5e-4');
    await page.getByRole('textbox', { name: 'Batch size', exact: true }).fill('8');
    await page.getByRole('textbox', { name: 'Max length (tokens)' }).fill('32');
    await page.locator('[data-testid="truncation"]').getByText(/will be cut/).waitFor({ timeout: 60_000 });
    await page.getByLabel('Run name').fill('Titles, tiny BERT');
    await expect(page.locator('[data-testid="settings-summary"]').textContent()).resolves.toMatch(/20 steps per epoch/);
    // The time per epoch, measured on a short warm-up with these settings.
    await page.getByRole('button', { name: 'Measure speed' }).click();
    await page.locator('[data-testid="estimate"]').waitFor({ timeout: 90_000 });
    await expect(page.locator('[data-testid="estimate"]').textContent()).resolves.toMatch(/per epoch/);
    await shot('08-settings-valid', true);
    await page.getByText('Advanced', { exact: true }).click();
    expect(await a11yProblems()).toEqual([]);
    await expect(page.getByRole('button', { name: 'Start training' }).isEnabled()).resolves.toBe(true);
  });

  it('train: live charts while training one epoch, no long frame', { timeout: TIMEOUT }, async () => {
    // Every value the loss chart's step count takes, as the page shows it.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { __stepsSeen: number[] }).__stepsSeen = seen;
      new MutationObserver(() => {
        const n = Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0);
        if (seen[seen.length - 1] !== n) seen.push(n);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-steps'] });
    });
    await monitor.reset();
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    expect(page.url()).toMatch(/#\/train\/[\w-]+$/);
    firstRun = decodeURIComponent(page.url().split('/').pop()!);

    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0) >= 3, null, { timeout: 90_000 });
    await shot('09-train-live');
    await waitForStatus('completed');
    await page.locator('[data-testid="run-charts"][data-evals="1"]').waitFor();
    trainingFrames = await monitor.report();
    expect(await stepsShown()).toBe(STEPS);
    // The chart grew step by step while the run trained (not in one go at the end).
    const seen = await page.evaluate(() => (window as unknown as { __stepsSeen: number[] }).__stepsSeen);
    console.log(`step counts seen: ${seen.join(' ')}; frames: ${JSON.stringify(trainingFrames)}`);
    expect(seen.filter((n) => n > 0 && n < STEPS).length).toBeGreaterThanOrEqual(3);
    await shot('10-train-done');
    console.log(`frames during training: ${JSON.stringify(trainingFrames)}; step counts seen: ${seen.join(' ')}`);
    // No frame over 100 ms. This machine has 2 cores shared with the trainer and other work: a
    // frame in which the page itself did little (scripts and rendering under half the budget) was
    // held up by the operating system, not by the app; those are reported, not failed.
    const ours = trainingFrames.over.filter((f) => trainingFrames!.entryType !== 'long-animation-frame' || f.scriptMs + f.renderMs >= trainingFrames!.budgetMs / 2);
    expect(ours).toEqual([]);
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('results: confusion cell rows, try-it, batch predict, exports', { timeout: TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'See the results' }).click();
    await page.getByRole('heading', { name: 'Results', level: 1 }).waitFor();
    expect(page.url()).toContain(`#/results/${firstRun}`);
    await page.locator('[data-testid="accuracy"]').waitFor();
    await expect(page.locator('[data-testid="per-class"] tbody tr').count()).resolves.toBe(4);

    // The largest cell of the matrix lists its rows with their probabilities.
    const cells = page.locator('[data-testid="confusion-matrix"] button.cell');
    const counts = await cells.evaluateAll((els) => els.map((e) => Number(e.textContent)));
    const biggest = counts.indexOf(Math.max(...counts));
    // The matrix works from the keyboard: each cell is a button.
    await cells.nth(biggest).focus();
    await page.keyboard.press('Enter');
    const rows = page.locator('[data-testid="cell-rows"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(counts[biggest]);
    await expect(page.locator('[data-testid="cell-rows"]').textContent()).resolves.toMatch(/%/);
    await shot('11-results-cell', true);
    expect(await a11yProblems()).toEqual([]);

    await page.getByLabel('Type or paste a text').fill('Stocks rally as earnings beat forecasts on Wall Street');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    await page.locator('[data-testid="predicted-label"]').waitFor({ timeout: 60_000 });
    await expect(page.locator('[data-testid="try-it"] [data-testid="prob-bars"] li').count()).resolves.toBe(4);

    // Batch prediction of a CSV dropped on the window (a synthetic drop, as a file manager does).
    await page.evaluate(
      ({ content, name }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([content], name, { type: 'text/csv' }));
        for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { content: fs.readFileSync(predictCsv, 'utf8'), name: path.basename(predictCsv) },
    );
    const written = page.locator('[data-testid="batch-predict"] [data-testid="written-path"]');
    await written.waitFor({ timeout: 60_000 });
    const predictions = (await written.textContent())!.trim();
    expect(fs.existsSync(predictions)).toBe(true);
    expect(fs.readFileSync(predictions, 'utf8')).toMatch(/predicted_label/);
    await expect(page.locator('[data-testid="batch-predict"]').textContent()).resolves.toContain(path.basename(predictCsv));
    await page.locator('[data-testid="try-it"]').scrollIntoViewIfNeeded();
    await shot('12-results-try-batch');

    for (const format of ['hf', 'predictions', 'recipe']) {
      await page.locator(`[data-testid="export"] button[data-format="${format}"]`).click();
      await page.locator('[data-testid="export"] button[data-format]:not([disabled])').first().waitFor({ timeout: 60_000 });
    }
    const paths = await page.locator('[data-testid="export"] [data-testid="written-path"]').allTextContents();
    expect(paths).toHaveLength(3);
    for (const p of paths) expect(fs.existsSync(p.trim())).toBe(true);
    expect(fs.existsSync(path.join(paths[0]!.trim(), 'config.json'))).toBe(true);
    await page.locator('[data-testid="export"]').scrollIntoViewIfNeeded();
    await shot('13-results-exported');
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('runs: reopen the run as recorded; a second run (a reload restores its live view); compare', { timeout: TIMEOUT }, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    const row = page.locator(`tr[data-run-id="${firstRun}"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toMatch(/Titles, tiny BERT/);
    await row.getByRole('link', { name: 'Titles, tiny BERT' }).click();
    await page.getByRole('heading', { name: 'Run', exact: true, level: 1 }).waitFor();
    await page.locator(`[data-testid="run-charts"][data-steps="${STEPS}"][data-evals="1"]`).waitFor();
    await page.locator('[data-testid="confusion-matrix"]').waitFor();
    await shot('14-run-detail', true);

    // A second run from the wizard, with a higher learning rate.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Settings/ }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('textbox', { name: 'Learning rate' }).fill('2e-3');
    await page.getByLabel('Run name').fill('Titles, tiny BERT, lr 2e-3');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    secondRun = decodeURIComponent(page.url().split('/').pop()!);
    expect(secondRun).not.toBe(firstRun);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0) >= 2, null, { timeout: 90_000 });
    // Reload mid-training: the curves come back from the database, then follow the events.
    const before = await stepsShown();
    await page.reload();
    await page.locator('[data-testid="run-charts"]').waitFor();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0) >= n, before, { timeout: 30_000 });
    await waitForStatus('completed');
    expect(await stepsShown()).toBe(STEPS);
    // The wizard's choices survived the reload: the data step shows the file and its dataset.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Data/ }).click();
    await page.locator('[data-testid="prepared"]').waitFor();
    await expect(page.locator('#text-col-1').count()).resolves.toBe(0);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await page.locator(`tr[data-run-id="${secondRun}"]`).waitFor();
    expect(await a11yProblems()).toEqual([]);
    // Sorting and filtering.
    await page.getByRole('button', { name: 'Name', exact: true }).click();
    await expect(page.locator('th[aria-sort="ascending"]').textContent()).resolves.toContain('Name');
    await expect(page.locator('[data-testid="runs-table"] tbody tr').first().getAttribute('data-run-id')).resolves.toBe(firstRun);
    await page.getByLabel('Filter runs').fill('2e-3');
    await expect(page.locator('[data-testid="runs-table"] tbody tr').count()).resolves.toBe(1);
    await page.getByLabel('Filter runs').fill('');
    await page.getByLabel('Select Titles, tiny BERT for comparison').check();
    await page.getByLabel('Select Titles, tiny BERT, lr 2e-3 for comparison').check();
    await shot('15-runs-selected');
    await page.getByRole('button', { name: 'Compare (2)' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs', level: 1 }).waitFor();
    await page.locator('[data-testid="compare-loss"] canvas').waitFor();
    const diff = (await page.locator('[data-testid="config-diff"]').textContent()) ?? '';
    expect(diff).toContain('options.learningRate');
    expect(diff).not.toContain('dataset.fingerprint');
    await expect(page.locator('[data-testid="class-deltas"] tbody tr').count()).resolves.toBe(4);
    await shot('16-compare', true);
    expect(await a11yProblems()).toEqual([]);
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('run again, cancel it while it trains, resume it', { timeout: TIMEOUT }, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await page.locator(`tr[data-run-id="${firstRun}"]`).getByRole('button', { name: 'Run Titles, tiny BERT again', exact: true }).click();
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    await page.getByText('Titles, tiny BERT (again)').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0) >= 1, null, { timeout: 90_000 });
    await page.getByRole('button', { name: 'Cancel training' }).click();
    await waitForStatus('cancelled', 60_000);
    expect(await runStatus()).toBe('cancelled');
    await page.getByRole('button', { name: 'Resume from the last checkpoint' }).waitFor();
    await shot('17-train-cancelled');
    // Resume: no checkpoint yet (they are written at the end of an epoch), so the run starts over;
    // the view is rebuilt from the record and follows the run to its end.
    await page.getByRole('button', { name: 'Resume from the last checkpoint' }).click();
    await waitForStatus('completed');
    expect(await stepsShown()).toBe(STEPS);
    await page.locator('[data-testid="run-charts"][data-evals="1"]').waitFor();
    await shot('18-train-resumed');
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('dark mode and 1920x1080', { timeout: TIMEOUT }, async () => {
    const shots: [string, string][] = [
      ['dark-results', `#/results/${firstRun}`],
      ['dark-compare', `#/compare/${firstRun},${secondRun}`],
      ['dark-train', `#/train/${firstRun}`],
    ];
    for (const [size, scheme] of [
      [{ width: 1280, height: 800 }, 'dark'],
      [{ width: 1920, height: 1080 }, 'light'],
    ] as const) {
      const context = await browser.newContext({ viewport: size, colorScheme: scheme });
      // The same wizard choices as the main window (the dataset, model and settings steps show them).
      const saved = await page.evaluate(() => localStorage.getItem('finetune-studio.wizard.v1'));
      await context.addInitScript((v) => {
        if (v && !localStorage.getItem('finetune-studio.wizard.v1')) localStorage.setItem('finetune-studio.wizard.v1', v);
      }, saved);
      const p = await context.newPage();
      const errors: string[] = [];
      p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      p.on('pageerror', (e) => errors.push(String(e)));
      await p.goto(s.host.url);
      await p.getByRole('heading', { level: 1 }).first().waitFor();
      for (const [name, hash] of [...shots, ['runs', '#/runs'], ['data', '#/data'], ['model', '#/model'], ['settings', '#/settings']]) {
        await p.evaluate((h) => (location.hash = h), hash);
        await p.waitForTimeout(50);
        if (name.includes('results')) await p.locator('[data-testid="confusion-matrix"]').waitFor();
        if (name.includes('compare')) await p.locator('[data-testid="compare-loss"] canvas').waitFor();
        if (name.includes('train')) await p.locator('[data-testid="run-charts"][data-steps="20"]').waitFor();
        if (name === 'runs') await p.locator('[data-testid="runs-table"]').waitFor();
        if (name === 'data') await p.locator('[data-testid="preview-table"]').waitFor();
        if (name === 'model') await p.locator('[data-model]').first().waitFor();
        if (name === 'settings') await p.locator('[data-testid="settings-summary"]').getByText(/steps per epoch/).waitFor();
        await p.waitForTimeout(150);
        const label = `${size.width}x${size.height}-${scheme}-${name.replace(/^dark-/, '')}`;
        await p.screenshot({ path: path.join(RESULTS_DIR, `wizard-${label}.png`) });
      }
      await context.close();
      expect(errors).toEqual([]);
    }
  });
});
