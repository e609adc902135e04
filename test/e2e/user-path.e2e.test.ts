/**
 * The new user's path through the real entry point (issue 11): `node out/main/serve.js` as a
 * process with its own data folder, the printed URL in Chromium, a CSV dropped on the window, a
 * model, one short epoch, the results, a text tried, then the predictions CSV and the model zip
 * downloaded by the browser and checked as files: one row per input, and the unzipped folder
 * predicts with `finetune predict`.
 *
 * The model is "Start from scratch" (tiny). The downloads are what the browser receives after the
 * user's own drop and click (page.waitForEvent('download')), not requests made by the test.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ZipArchive } from '../../src/main/hf/zip-reader';
import { agNewsSample, REPO_DIR, requireBuild } from '../helpers/app';
import { launchBrowser, RESULTS_DIR, startHostProcess, type HostProcess } from '../helpers/browser';

const TIMEOUT = 180_000;
const PREDICT_ROWS = 25;

let browser: Browser;
let context: BrowserContext;
let page: Page;
let host: HostProcess;
let tmp: string;
let csv: string;
let predictCsv: string;
const errors: string[] = [];
const downloaded: Record<string, string> = {};

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(RESULTS_DIR, `user-path-${name}.png`), fullPage: true });
}

/** A synthetic drop of a file on the window, as a file manager does. */
async function dropFile(file: string): Promise<void> {
  await page.evaluate(
    ({ content, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], name, { type: 'text/csv' }));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { content: fs.readFileSync(file, 'utf8'), name: path.basename(file) },
  );
}

/** The Model step: "Start from scratch", the tiny shape (no download, no folder to find). */
async function chooseModel(): Promise<void> {
  const scratch = page.locator('[data-testid="scratch-card"]');
  await scratch.getByText('Tiny (2 layers × 128)').click();
  await scratch.getByRole('button', { name: 'Start from scratch' }).click();
  await scratch.getByRole('button', { name: '✓ Selected' }).waitFor({ timeout: 60_000 });
}

/**
 * Does what the user does (a click, a drop) and receives the download the page offers for it:
 * the Results step hands what it wrote to the browser (offerDownload) by itself.
 */
async function receiveDownload(action: () => Promise<void>): Promise<{ file: string; suggested: string }> {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), action()]);
  const file = path.join(tmp, 'downloads', dl.suggestedFilename());
  await dl.saveAs(file);
  return { file, suggested: dl.suggestedFilename() };
}

/** Unzips with the app's ZIP reader (stored entries) and zlib (deflated ones). */
function unzip(file: string, into: string): string[] {
  const zip = ZipArchive.open(file);
  const bytes = fs.readFileSync(file);
  try {
    for (const e of zip.entries.values()) {
      const start = e.localHeaderOffset + 30 + bytes.readUInt16LE(e.localHeaderOffset + 26) + bytes.readUInt16LE(e.localHeaderOffset + 28);
      const raw = bytes.subarray(start, start + e.compressedSize);
      const data = e.method === 8 ? zlib.inflateRawSync(raw) : e.method === 0 ? raw : null;
      if (!data) throw new Error(`${e.name}: method ${e.method}`);
      expect(zlib.crc32(data) >>> 0).toBe(e.crc32 >>> 0);
      const out = path.join(into, e.name);
      expect(out.startsWith(into + path.sep)).toBe(true);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, data);
    }
    return [...zip.entries.keys()];
  } finally {
    zip.close();
  }
}

/** Rows of a CSV as the app writes it (quoted fields may hold commas, quotes and newlines). */
function csvRecords(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

beforeAll(async () => {
  requireBuild();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-user-path-'));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  csv = agNewsSample(tmp, 200);
  predictCsv = agNewsSample(tmp, PREDICT_ROWS, 'test.csv'); // AG News files have no header line
  host = await startHostProcess(['out/main/serve.js'], {
    FINETUNE_HOME: path.join(tmp, 'home'),
    // No network: the Hub is a closed port; the pure JavaScript backend, predictable everywhere.
    HF_ENDPOINT: 'http://127.0.0.1:9',
    HF_HUB_CACHE: path.join(tmp, 'hf-cache'),
    FINETUNE_BACKEND: 'cpu',
  });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(`${m.text()} @ ${m.location().url}`) : undefined));
}, 90_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await host?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a new user, from the printed URL to a model in hand', () => {
  let broken = false;
  beforeEach((ctx) => {
    if (broken) ctx.skip();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    broken = true;
    await shot('FAILED').catch(() => undefined);
    console.log(`host output:\n${host.output()}\nconsole errors: ${JSON.stringify(errors, null, 1)}`);
  });

  it('opens the printed URL and drops a CSV', { timeout: TIMEOUT }, async () => {
    await page.goto(host.url);
    await page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor();
    await page.waitForFunction(() => !location.search.includes('token='));
    await shot('01-open');
    await dropFile(csv);
    await page.locator('[data-testid="preview-table"]').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Prepare dataset' }).click();
    await page.locator('[data-testid="prepared"]').waitFor({ timeout: 60_000 });
    await shot('02-data-prepared');
  });

  it('chooses a model and trains one short epoch', { timeout: TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Next: choose a model' }).first().click();
    await page.getByRole('heading', { name: 'Model', level: 1 }).waitFor();
    await chooseModel();
    await shot('03-model');
    await page.getByRole('button', { name: 'Next: settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: /^Fast/ }).click();
    await page.getByRole('textbox', { name: 'Epochs' }).fill('1');
    await page.getByRole('textbox', { name: 'Learning rate' }).fill('1e-3');
    await page.getByRole('textbox', { name: 'Batch size', exact: true }).fill('8');
    await page.getByRole('textbox', { name: 'Max length (tokens)' }).fill('32');
    await page.getByLabel('Run name').fill('first model');
    await shot('04-settings');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    await page.locator('[data-testid="run-progress"][data-status="completed"]').waitFor({ timeout: 150_000 });
    await shot('05-trained');
  });

  it('sees the results and tries a text', { timeout: TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'See the results' }).click();
    await page.getByRole('heading', { name: 'Results', level: 1 }).waitFor();
    await page.locator('[data-testid="accuracy"]').waitFor();
    await page.getByLabel('Type or paste a text').fill('Stocks rally as earnings beat forecasts on Wall Street');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    await page.locator('[data-testid="predicted-label"]').waitFor({ timeout: 60_000 });
    await shot('06-results-tried');
  });

  it('downloads the predictions of a file: one row per input, named after the file and the run', { timeout: TIMEOUT }, async () => {
    const { file, suggested } = await receiveDownload(() => dropFile(predictCsv));
    downloaded.predictions = file;
    expect(suggested).toBe(`${path.basename(predictCsv, '.csv')}-predictions-first model.csv`);
    // The page says what the browser got, not only where the server wrote it.
    await expect(page.locator('[data-testid="batch-predict"] [data-testid="downloaded-name"]').textContent()).resolves.toBe(`Downloaded ${suggested}`);
    const records = csvRecords(fs.readFileSync(file, 'utf8')).filter((r) => r.some((f) => f !== ''));
    const header = records[0]!;
    expect(header).toContain('predicted_label');
    const inputs = csvRecords(fs.readFileSync(predictCsv, 'utf8')).filter((r) => r.some((f) => f !== ''));
    expect(inputs.length).toBe(PREDICT_ROWS);
    expect(records.length - 1).toBe(inputs.length);
    // Row by row, the text of the input comes back with its prediction.
    const titleAt = header.findIndex((h) => /title|text/i.test(h));
    if (titleAt >= 0) expect(records.slice(1).map((r) => r[titleAt])).toEqual(inputs.map((r) => r[1]));
    await shot('07-predictions');
  });

  it('downloads the model as a zip that `finetune predict` loads', { timeout: TIMEOUT }, async () => {
    const { file, suggested } = await receiveDownload(() => page.locator('[data-testid="export"] button[data-format="hf"]').click());
    expect(suggested).toMatch(/-first model-model\.zip$/);
    await expect(page.locator('[data-testid="export"] [data-testid="downloaded-name"]').first().textContent()).resolves.toBe(`Downloaded ${suggested}`);
    const into = path.join(tmp, 'unzipped');
    const names = unzip(file, into);
    const folder = path.join(into, suggested.replace(/\.zip$/, ''));
    expect(names).toContain(`${path.basename(folder)}/config.json`);
    const out = execFileSync(process.execPath, [path.join(REPO_DIR, 'bin/finetune.js'), 'predict', '--model', folder, '--text', 'Stocks rally on Wall Street', '--json'], {
      env: { ...process.env, FINETUNE_BACKEND: 'cpu', FINETUNE_HOME: path.join(tmp, 'cli-home') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    console.log(`finetune predict on the downloaded model: ${out.trim().slice(0, 300)}`);
    expect(out).toMatch(/label/);

    // The keyword baseline the model is compared with downloads as JSON that `finetune predict --baseline` reads.
    const baseline = await receiveDownload(() => page.locator('[data-testid="export"] button[data-format="baseline"]').click());
    expect(baseline.suggested).toMatch(/-keyword-baseline\.json$/);
    const labelled = execFileSync(process.execPath, [path.join(REPO_DIR, 'bin/finetune.js'), 'predict', '--baseline', baseline.file, '--text', 'Stocks rally on Wall Street', '--json'], {
      env: { ...process.env, FINETUNE_HOME: path.join(tmp, 'cli-home') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(labelled).toMatch(/label/);
    await shot('08-exported');
    expect(errors).toEqual([]);
  });
});
