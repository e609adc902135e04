/** Debian's chromium driven by playwright-core against the web host, each test with its own data dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createApp, type App } from '../../src/main/app';
import { createWebHost, type WebHost } from '../../src/main/web';
import { REPO_DIR, requireBuild, WORKER_ENTRY } from './app';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS_DIR = path.join(REPO_DIR, 'test-results');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

export interface Session {
  app: App;
  host: WebHost;
  page: Page;
  dataDir: string;
  /** Console errors and page errors seen so far. */
  errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openSession(browser: Browser, opts: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark'; env?: NodeJS.ProcessEnv } = {}): Promise<Session> {
  requireBuild();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-e2e-'));
  const app = createApp({ dataDir, host: 'web', workerEntry: WORKER_ENTRY });
  const host = await createWebHost({ app, rendererDir: path.join(REPO_DIR, 'out/renderer') });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, colorScheme: opts.colorScheme ?? 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  return {
    app,
    host,
    page,
    dataDir,
    errors,
    async screenshot(name) {
      const file = path.join(RESULTS_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      return file;
    },
    async close() {
      await context.close();
      await host.close();
      app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
