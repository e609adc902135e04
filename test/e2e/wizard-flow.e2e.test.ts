/**
 * The whole product through the web host in Debian's chromium: drop a CSV, change a column,
 * fix a data doctor finding, prepare, pick the fixture model from a local folder (and see a
 * download fail cleanly), start from scratch (folder picker, scratch preset), measure the speed,
 * set the options, train one epoch while the charts update (long frames reported), read the
 * results (confusion cell rows, try-it, batch predict, exports), see a run that learned nothing
 * flagged with its advice, reopen a run from the Runs page, run it again with the wizard
 * prefilled (reload mid-training restores the view), compare two runs, cancel a run in progress;
 * then dark mode and 1920x1080 screenshots.
 *
 * Each test stands alone: it opens its own page with the wizard state it needs, and what it needs
 * on the server (a prepared dataset, a trained run) is made through the AppApi once, on first use,
 * by whichever test asks first. Running one test alone (-t) works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { installFrameMonitor, launchBrowser, openSession, RESULTS_DIR, type FrameReport, type Session } from '../helpers/browser';
import { agNewsSample } from '../helpers/app';
import { RECOMMENDED_OPTIONS, type TrainingOptions } from '../../src/shared/run-config';
import type { RunStatus } from '../../src/shared/types';

/** The wizard's saved state (lib/wizard.svelte.ts; runes, so not imported here): missing fields take their defaults. */
const STORAGE_KEY = 'finetune-studio.wizard.v1';
type WizardData = Record<string, unknown>;
const defaultWizard = (): WizardData => ({});

const FIXTURE_MODEL = path.resolve(__dirname, '../../../shared/reference/fixtures/bert');
const TIMEOUT = 150_000;
/** 160 training rows in batches of 8. */
const STEPS = 20;
const LABEL_NAMES = { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' };
/** The settings test's values: the Fast preset, lr 5e-4, batch 8, length 32. */
const RUN_OPTIONS: TrainingOptions = { ...RECOMMENDED_OPTIONS, epochs: 1, learningRate: 5e-4, batchSize: 8, maxLength: 32, groupByLength: true };

let browser: Browser;
let s: Session;
let tmp: string;
let csv: string;
let predictCsv: string;
let trainingFrames: FrameReport | null = null;
const savedEnv = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE, FINETUNE_BACKEND: process.env.FINETUNE_BACKEND };

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

// --- what the tests need on the server, made once through the AppApi ------------------------

const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | null = null;
  return () => (p ??= make());
};

/** The dataset the data test prepares in the page: titles only, named labels, duplicates dropped. */
const preparedDataset = once(async () => {
  const inspection = await s.app.api.inspectDataset(csv);
  const mapping = { ...inspection.suggestedMapping!, textColumns: [1], labelNames: LABEL_NAMES };
  const ds = await s.app.api.prepareDataset({ file: csv, mapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 42 }, cleaning: { dropDuplicates: true }, name: 'ag-news-small.csv' });
  expect(ds.trainCount).toBe(160);
  return ds;
});

async function waitForRun(id: string, timeout = 120_000): Promise<RunStatus> {
  const end = Date.now() + timeout;
  for (;;) {
    const status = s.app.runs.summary(id)?.status;
    if (status === 'completed' || status === 'failed' || status === 'cancelled') return status;
    if (Date.now() > end) throw new Error(`run ${id} still ${status} after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function trainedRun(name: string, options: TrainingOptions): Promise<string> {
  const ds = await preparedDataset();
  const run = await s.app.api.startRun({ name, model: FIXTURE_MODEL, datasetId: ds.id, options });
  expect(await waitForRun(run.id)).toBe('completed');
  return run.id;
}
const firstRun = once(() => trainedRun('Titles, tiny BERT', RUN_OPTIONS));
const secondRun = once(() => trainedRun('Titles, tiny BERT, lr 2e-3', { ...RUN_OPTIONS, learningRate: 2e-3 }));

// --- a page per test, with the wizard state it starts from ----------------------------------

let context: BrowserContext | null = null;
let page: Page;
let errors: string[] = [];

/** A new page (1280x800) whose wizard starts as given (the rest default), at the given hash. */
async function openPage(wizard: Partial<WizardData> = {}, hash = '', size = { width: 1280, height: 800 }): Promise<Page> {
  await context?.close();
  context = await browser.newContext({ viewport: size, colorScheme: 'light' });
  const saved = JSON.stringify({ ...defaultWizard(), ...wizard });
  // Seeded once per page: a reload keeps what the page saved since.
  await context.addInitScript(
    ({ key, value }) => {
      if (!sessionStorage.getItem('seeded')) {
        localStorage.setItem(key, value);
        sessionStorage.setItem('seeded', '1');
      }
    },
    { key: STORAGE_KEY, value: saved },
  );
  page = await context.newPage();
  errors = [];
  // Failed resource loads carry their URL only in the location: keep it with the message.
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`${m.text()} @ ${m.location().url}`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${s.host.url}${hash}`);
  return page;
}

/** The wizard of someone who prepared the dataset (and chose the fixture model). */
async function wizardWithData(extra: Partial<WizardData> = {}): Promise<Partial<WizardData>> {
  const ds = await preparedDataset();
  return {
    file: csv,
    fileName: 'ag-news-small.csv',
    mapping: ds.mapping,
    parse: ds.parse,
    cleaning: { dropDuplicates: true },
    datasetId: ds.id,
    datasetName: ds.name,
    model: FIXTURE_MODEL,
    modelLabel: 'bert',
    ...extra,
  };
}

/**
 * A screenshot of the viewport, or of the whole page: the window is made as tall as the page for
 * it (a full-page capture of a scrolled page draws the sticky sidebar in the wrong place).
 */
async function shot(name: string, fullPage = false): Promise<void> {
  const file = path.join(RESULTS_DIR, `wizard-${name}.png`);
  if (!fullPage) {
    await page.screenshot({ path: file });
    return;
  }
  const size = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 4000)) });
  await page.waitForTimeout(100);
  await page.screenshot({ path: file });
  await page.setViewportSize(size);
}
const runStatus = () => page.locator('[data-testid="run-progress"]').getAttribute('data-status');
async function waitForStatus(status: string, timeout = 90_000): Promise<void> {
  await page.locator(`[data-testid="run-progress"][data-status="${status}"]`).waitFor({ timeout });
}
async function stepsShown(): Promise<number> {
  return Number((await page.locator('[data-testid="run-charts"]').getAttribute('data-steps')) ?? '0');
}

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
  return errors.filter((e) => !allowedApi.some((m) => e.includes(`/api/${m}`)));
}

describe('the wizard, end to end', () => {
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      await page?.screenshot({ path: path.join(RESULTS_DIR, `wizard-FAILED-${ctx.task.name.split(':')[0]}.png`), fullPage: true }).catch(() => undefined);
      console.log(`console errors: ${JSON.stringify(errors, null, 1)}`);
    }
  });
  afterAll(async () => {
    await context?.close();
  });

  it('data: drop a CSV, change a column, name the labels, fix a finding, prepare', { timeout: TIMEOUT }, async () => {
    await openPage();
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
    for (const [raw, name] of Object.entries(LABEL_NAMES)) {
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

    // Messages name the user's file, not the uploaded copy ("<time>-<random>-ag-news-small.csv").
    await expect(page.locator('[data-testid="file-summary"] h2').textContent()).resolves.toBe('ag-news-small.csv');

    await page.getByRole('button', { name: 'Prepare dataset' }).click();
    const prepared = page.locator('[data-testid="prepared"]');
    await prepared.waitFor();
    await expect(prepared.textContent()).resolves.toMatch(/160 training and 40 evaluation rows,\s+4 labels/);
    await page.locator('[data-testid="dataset-summary"]').waitFor();
    await shot('04-data-prepared', true);

    // Leaving the step and coming back does not read the file again.
    let inspections = 0;
    page.on('request', (r) => r.url().endsWith('/api/inspectDataset') && inspections++);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Model/ }).click();
    await page.getByRole('heading', { name: 'Model', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Data/ }).click();
    await page.locator('[data-testid="prepared"]').waitFor();
    await page.locator('[data-testid="preview-table"]').waitFor();
    expect(inspections).toBe(0);

    // Datasets prepared before show their file, rows and date, and can be deleted.
    await preparedDataset();
    const past = page.locator('[data-testid="past-datasets"]');
    await page.reload();
    await past.locator('summary').click();
    await expect(past.locator('tbody tr').count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(past.textContent()).resolves.toMatch(/ag-news-small\.csv/);
    expect(unexpectedErrors()).toEqual([]);
  });

  it('model: a failed download says what to do; a local folder; the backend', { timeout: TIMEOUT }, async () => {
    await openPage(await wizardWithData({ model: null, modelLabel: null }), '#/model');
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

    await page.getByLabel('Folder', { exact: true }).fill(FIXTURE_MODEL);
    await page.getByRole('button', { name: 'Use folder' }).click();
    await page.locator('[data-testid="folder-report"]').getByText('ready to train').waitFor();

    await page.locator('[data-testid="estimate-block"]').getByRole('button', { name: 'Measure speed' }).waitFor();
    await shot('06-model-selected', true);
    expect(unexpectedErrors(['downloadModel'])).toEqual([]);
  });

  it('model: start from scratch, then find it again with the folder picker', { timeout: TIMEOUT }, async () => {
    await openPage(await wizardWithData({ model: null, modelLabel: null }), '#/model');
    const scratch = page.locator('[data-testid="scratch-card"]');
    await scratch.waitFor();
    // The plain note on what from scratch means for accuracy.
    await expect(scratch.textContent()).resolves.toMatch(/much lower accuracy than a pretrained model/);
    await scratch.getByText('Tiny (2 layers × 128)').click();
    await scratch.getByRole('button', { name: 'Start from scratch' }).click();
    await scratch.getByRole('button', { name: '✓ Selected' }).waitFor({ timeout: 60_000 });
    const dir = path.join(s.dataDir, 'models', 'scratch-tiny');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(true);
    await expect(page.locator('.step-footer').textContent()).resolves.toMatch(/BERT tiny \(from scratch\)/);
    await scratch.scrollIntoViewIfNeeded();
    await shot('06b-model-scratch');

    // The browser host's folder picker: the app's data folder, down to the model folder.
    const browse = page.getByRole('button', { name: 'Browse…' });
    await browse.click();
    const picker = page.locator('[data-testid="folder-picker"]');
    await picker.waitFor();
    // A real modal: Escape closes it and gives the focus back to the button that opened it.
    await expect(picker.getAttribute('aria-modal')).resolves.toBe('true');
    await page.keyboard.press('Escape');
    await picker.waitFor({ state: 'hidden' });
    await expect(browse.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await browse.click();
    await picker.waitFor();
    await picker.getByRole('button', { name: /^App data/ }).click();
    await picker.getByRole('button', { name: /models/ }).click();
    await picker.getByRole('button', { name: /scratch-tiny/ }).click();
    // Wait for the new listing (the click only starts loading it), then read it.
    await picker.locator('[data-testid="folder-picker-path"]', { hasText: 'scratch-tiny' }).waitFor();
    await expect(picker.locator('[data-testid="folder-picker-path"]').textContent()).resolves.toContain('scratch-tiny');
    await shot('06c-model-folder-picker');
    await picker.getByRole('button', { name: 'Use this model folder' }).click();
    await page.locator('[data-testid="folder-report"]').getByText('ready to train').waitFor();

    // The Settings step proposes the scratch preset for a model from scratch.
    await scratch.getByRole('button', { name: 'Start from scratch' }).click();
    await scratch.getByRole('button', { name: '✓ Selected' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Next: settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.locator('[data-testid="scratch-settings-note"]').waitFor();
    await page.locator('button[aria-pressed="true"]', { hasText: 'From scratch' }).waitFor();
    await expect(page.getByRole('textbox', { name: 'Learning rate' }).inputValue()).resolves.toBe('0.001');
    await shot('06d-settings-scratch');
    expect(await a11yProblems()).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
  });

  it('settings: presets, inline validation with the reason, truncation share, measured speed', { timeout: TIMEOUT }, async () => {
    await openPage(await wizardWithData(), '#/settings');
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

    // Coming back to the step does not measure the token lengths again.
    let measured = 0;
    page.on('request', (r) => r.url().endsWith('/api/doctorDataset') && measured++);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Model/ }).click();
    await page.getByRole('heading', { name: 'Model', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Next: settings' }).click();
    await page.locator('[data-testid="truncation"]').getByText(/will be cut/).waitFor();
    expect(measured).toBe(0);
  });

  it('train: live charts while training one epoch (frames reported)', { timeout: TIMEOUT }, async () => {
    // A page that has shown a run before (as the user's has, from the steps before): the frames
    // measured are those of training, not of the browser compiling the page's code the first time.
    const warm = await firstRun();
    await openPage(await wizardWithData({ options: RUN_OPTIONS, preset: 'custom', runName: 'Titles, tiny BERT (live)' }), `#/train/${warm}`);
    const monitor = await installFrameMonitor(page, 100);
    await page.reload();
    await page.locator(`[data-testid="run-charts"][data-steps="${STEPS}"]`).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Settings/ }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
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

    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-charts"]')?.getAttribute('data-steps') ?? 0) >= 3, null, { timeout: 90_000 });
    await shot('09-train-live');
    await waitForStatus('completed');
    await page.locator('[data-testid="run-charts"][data-evals="1"]').waitFor();
    trainingFrames = await monitor.report();
    expect(await stepsShown()).toBe(STEPS);
    // The chart grew step by step while the run trained (not in one go at the end).
    const seen = await page.evaluate(() => (window as unknown as { __stepsSeen: number[] }).__stepsSeen);
    expect(seen.filter((n) => n > 0 && n < STEPS).length).toBeGreaterThanOrEqual(3);
    // One format for elapsed time ("1m 03s" or "45s", never "1:03").
    await expect(page.locator('[data-testid="elapsed"]').textContent()).resolves.toMatch(/^(\d+s|\d+m \d\ds)$/);
    await shot('10-train-done');
    console.log(`frames during training: ${JSON.stringify(trainingFrames)}; step counts seen: ${seen.join(' ')}`);
    // Frames over 100 ms are reported (test-results/wizard-frames.json and the line above), not
    // failed: on a busy machine script time itself stretches, and a test's verdict must not depend
    // on the machine's speed. The live updates' batching is what this test holds (steps seen above).
    const ours = trainingFrames.over.filter((f) => trainingFrames!.entryType !== 'long-animation-frame' || f.scriptMs + f.renderMs >= trainingFrames!.budgetMs / 2);
    if (ours.length) console.log(`long frames during training (reported, not failed): ${JSON.stringify(ours)}`);
    expect(unexpectedErrors()).toEqual([]);
  });

  it('results: confusion cell rows, try-it, batch predict, exports', { timeout: TIMEOUT }, async () => {
    const run = await firstRun();
    await openPage(await wizardWithData({ runId: run }), `#/results/${run}`);
    await page.getByRole('heading', { name: 'Results', level: 1 }).waitFor();
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

    const box = page.getByLabel('Type or paste a text');
    await box.fill('Stocks rally as earnings beat forecasts on Wall Street');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    await page.locator('[data-testid="predicted-label"]').waitFor({ timeout: 60_000 });
    await expect(page.locator('[data-testid="try-it"] [data-testid="prob-bars"] li').count()).resolves.toBe(4);
    // A cleared box clears the old prediction.
    await box.fill('');
    await page.locator('[data-testid="predicted-label"]').waitFor({ state: 'detached' });

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
    expect(unexpectedErrors()).toEqual([]);
  });

  it('not learned: a random model at lr 2e-5 is flagged, with the scratch settings to try', { timeout: TIMEOUT }, async () => {
    const ds = await preparedDataset();
    const scratch = await s.app.api.createScratchModel({ shape: 'tiny' });
    // The Recommended learning rate on a random model: it stays where it started.
    const start = await s.app.api.startRun({ name: 'Scratch at 2e-5', model: scratch.dir, datasetId: ds.id, options: { ...RUN_OPTIONS, learningRate: 2e-5 } });
    expect(await waitForRun(start.id)).toBe('completed');
    expect((s.app.runs.config(start.id) as { modelStart?: string }).modelStart).toBe('scratch');

    await openPage(await wizardWithData({ runId: start.id }), `#/results/${start.id}`);
    const warning = page.locator('[data-testid="not-learned"]');
    await warning.waitFor();
    await expect(warning.textContent()).resolves.toMatch(/has not learned/);
    await expect(warning.textContent()).resolves.toMatch(/learning rate 0\.001 and 5 epochs/);
    await expect(page.locator('[data-testid="headline"]').getAttribute('data-learned')).resolves.toBe('false');
    await expect(page.locator('[data-testid="run-status"]').textContent()).resolves.toMatch(/not learned/);
    await expect(page.locator('[data-testid="run-status"]').getAttribute('class')).resolves.not.toMatch(/completed/);
    // The keyword baseline of the dataset (computed when it was prepared) beats it, in plain words.
    expect(ds.baseline).not.toBeNull();
    const baseline = page.locator('[data-testid="baseline"]');
    await baseline.waitFor();
    await expect(baseline.getAttribute('data-verdict')).resolves.toBe('baseline-wins');
    await expect(page.locator('[data-testid="baseline-headline"]').textContent()).resolves.toMatch(new RegExp(`^Your model [\\d.]+ % vs keyword baseline ${(ds.baseline!.accuracy * 100).toFixed(1)} %$`));
    await expect(baseline.textContent()).resolves.toMatch(/A simple keyword model beats this run by [\d.]+ points: try more epochs, a pretrained model, or use the keyword model instead/);
    await expect(page.locator('[data-testid="baseline-f1"]').count()).resolves.toBe(4);
    await shot('13b-results-not-learned', true);

    // A dataset prepared before baselines existed: Results offers to compute it, with progress.
    const dsDir = path.join(s.app.dataDir, 'datasets', ds.id);
    for (const f of ['baseline.json', 'baseline-report.json']) fs.rmSync(path.join(dsDir, f));
    await page.reload();
    await page.locator('[data-testid="compute-baseline"]').click();
    await baseline.waitFor({ timeout: 60_000 });
    await expect(page.locator('[data-testid="baseline-headline"]').textContent()).resolves.toContain(`keyword baseline ${(ds.baseline!.accuracy * 100).toFixed(1)} %`);
    expect(fs.existsSync(path.join(dsDir, 'baseline-report.json'))).toBe(true);

    // The runs table flags it too, not as a green success.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    const row = page.locator(`tr[data-run-id="${start.id}"]`);
    await row.locator('[data-testid="run-not-learned"]').waitFor();
    await expect(row.locator('[data-testid="run-baseline"]').textContent()).resolves.toContain(`${(ds.baseline!.accuracy * 100).toFixed(1)} %`);
    await shot('13c-runs-not-learned');

    // "Run again with these settings": the Settings step, prefilled with the suggested values.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Results/ }).click();
    await page.locator('[data-testid="run-again-suggested"]').click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await expect(page.getByRole('textbox', { name: 'Learning rate' }).inputValue()).resolves.toBe('0.001');
    await expect(page.getByRole('textbox', { name: 'Epochs' }).inputValue()).resolves.toBe('5');
    await expect(page.getByLabel('Run name').inputValue()).resolves.toBe('Scratch at 2e-5 (again)');
    await page.locator('[data-testid="scratch-settings-note"]').waitFor();
    expect(unexpectedErrors()).toEqual([]);
  });

  it('runs: reopen the run as recorded; a second run (a reload restores its live view); compare', { timeout: TIMEOUT }, async () => {
    const first = await firstRun();
    await openPage(await wizardWithData({ options: RUN_OPTIONS, preset: 'custom' }), '#/runs');
    const row = page.locator(`tr[data-run-id="${first}"]`);
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
    await page.getByLabel('Run name').fill('Titles, tiny BERT, lr 2e-3 (wizard)');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    const second = decodeURIComponent(page.url().split('/').pop()!);
    expect(second).not.toBe(first);
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
    await page.locator(`tr[data-run-id="${second}"]`).waitFor();
    expect(await a11yProblems()).toEqual([]);
    // Sorting and filtering (other tests may have added runs: look at these two).
    await page.getByLabel('Filter runs').fill('Titles, tiny BERT');
    await page.getByRole('button', { name: 'Name', exact: true }).click();
    await expect(page.locator('th[aria-sort="ascending"]').textContent()).resolves.toContain('Name');
    await expect(page.locator('[data-testid="runs-table"] tbody tr').first().getAttribute('data-run-id')).resolves.toBe(first);
    await page.getByLabel('Filter runs').fill('(wizard)');
    await expect(page.locator('[data-testid="runs-table"] tbody tr').count()).resolves.toBe(1);
    await page.getByLabel('Filter runs').fill('');
    await page.getByLabel('Select Titles, tiny BERT for comparison').check();
    await page.getByLabel('Select Titles, tiny BERT, lr 2e-3 (wizard) for comparison').check();
    await shot('15-runs-selected');
    await page.getByRole('button', { name: 'Compare (2)' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs', level: 1 }).waitFor();
    await page.locator('[data-testid="compare-loss"] canvas').waitFor();
    // Settings by their plain names (the raw key stays as a tooltip).
    const diff = (await page.locator('[data-testid="config-diff"]').textContent()) ?? '';
    expect(diff).toContain('Learning rate');
    expect(diff).not.toContain('options.learningRate');
    expect(diff).not.toContain('dataset.fingerprint');
    await expect(page.locator('[data-testid="class-deltas"] tbody tr').count()).resolves.toBe(4);
    await shot('16-compare', true);
    expect(await a11yProblems()).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
  });

  it('run again (the wizard prefilled), cancel it while it trains, resume it', { timeout: TIMEOUT }, async () => {
    const first = await firstRun();
    await openPage({}, '#/runs');
    await page.locator(`tr[data-run-id="${first}"]`).getByRole('button', { name: 'Run Titles, tiny BERT again', exact: true }).click();
    // Run again opens the Settings step with the run's settings, to change or start as is.
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await expect(page.getByRole('textbox', { name: 'Learning rate' }).inputValue()).resolves.toBe('5e-4');
    await expect(page.getByLabel('Run name').inputValue()).resolves.toBe('Titles, tiny BERT (again)');
    await page.getByRole('button', { name: 'Start training' }).click();
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
    expect(unexpectedErrors()).toEqual([]);
  });

  it('dark mode and 1920x1080', { timeout: TIMEOUT }, async () => {
    const [first, second] = [await firstRun(), await secondRun()];
    const wizard = await wizardWithData({ runId: first });
    const shots: [string, string][] = [
      ['dark-results', `#/results/${first}`],
      ['dark-compare', `#/compare/${first},${second}`],
      ['dark-train', `#/train/${first}`],
    ];
    for (const [size, scheme] of [
      [{ width: 1280, height: 800 }, 'dark'],
      [{ width: 1920, height: 1080 }, 'light'],
    ] as const) {
      const ctx = await browser.newContext({ viewport: size, colorScheme: scheme });
      await ctx.addInitScript(
        ({ key, value }) => {
          if (!localStorage.getItem(key)) localStorage.setItem(key, value);
        },
        { key: STORAGE_KEY, value: JSON.stringify({ ...defaultWizard(), ...wizard }) },
      );
      const p = await ctx.newPage();
      const pageErrors: string[] = [];
      p.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
      p.on('pageerror', (e) => pageErrors.push(String(e)));
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
      await ctx.close();
      expect(pageErrors).toEqual([]);
    }
  });
});
