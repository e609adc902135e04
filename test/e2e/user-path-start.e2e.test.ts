/**
 * The README's way in, as real processes (issue 11.1): `npm run serve` (node out/main/serve.js)
 * and `npm start` without Electron's binary (node scripts/start.mjs) each print a URL that
 * opens the wizard in Chromium, not an error page. Nothing is handed the renderer's folder: the
 * entry points find it themselves, as they do for a user.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { requireBuild } from '../helpers/app';
import { launchBrowser, RESULTS_DIR, startHostProcess, type HostProcess } from '../helpers/browser';

let browser: Browser;
let home: string;

beforeAll(async () => {
  requireBuild();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-start-'));
  browser = await launchBrowser();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/** Opens the printed URL and checks the wizard's first step is there, with no error page. */
async function opensWizard(host: HostProcess, shot: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(`${m.text()} @ ${m.location().url}`) : undefined));
  try {
    const response = await page.goto(host.url);
    expect(response?.status()).toBe(200);
    await page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor({ timeout: 30_000 });
    await expect(page.locator('body').textContent()).resolves.not.toMatch(/renderer is not built/);
    // The token leaves the address bar once the page has it.
    await page.waitForFunction(() => !location.search.includes('token='));
    await page.screenshot({ path: path.join(RESULTS_DIR, `${shot}.png`) });
    // A reload (no token in the address any more) still works: the page kept it for this tab.
    await page.reload();
    await page.getByRole('heading', { name: 'Drop a file anywhere in this window' }).waitFor({ timeout: 30_000 });
    await page.evaluate(async () => {
      const r = await fetch('/api/systemInfo', { method: 'POST', headers: { 'x-finetune-token': sessionStorage.getItem('finetune-token') ?? '' }, body: '[]' });
      if (r.status !== 200) throw new Error(`systemInfo answered ${r.status}`);
    });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}

describe('the README entry points, as processes', () => {
  it('node out/main/serve.js prints a URL that opens the wizard', { timeout: 120_000 }, async () => {
    const host = await startHostProcess(['out/main/serve.js'], { FINETUNE_HOME: path.join(home, 'serve') });
    try {
      expect(host.output()).toMatch(/^Finetune Studio is serving on http:\/\/127\.0\.0\.1:\d+\/\?token=/m);
      await opensWizard(host, 'start-serve');
    } finally {
      await host.stop();
    }
  });

  it('node scripts/start.mjs without Electron says so in one line, then serves the wizard', { timeout: 120_000 }, async () => {
    // ELECTRON_OVERRIDE_DIST_PATH points Electron's package at a folder with no binary: the same
    // as a skipped or failed download, whether or not this machine has Electron.
    const host = await startHostProcess(['scripts/start.mjs', '--no-build'], {
      FINETUNE_HOME: path.join(home, 'start'),
      ELECTRON_OVERRIDE_DIST_PATH: path.join(home, 'no-electron-here'),
    });
    try {
      const lines = host.output().trim().split('\n');
      const at = lines.findIndex((l) => l.includes('serving on'));
      expect(at).toBe(1);
      expect(lines[0]).toMatch(/^Electron's binary is not installed .*Opening the browser host instead/);
      await opensWizard(host, 'start-fallback');
    } finally {
      await host.stop();
    }
  });
});
