/** Debian's chromium driven by playwright-core against the web host, each test with its own data dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createApp, type App } from '../../src/main/app';
import { forkLauncher, type WorkerLauncher } from '../../src/main/training/launcher';
import { createWebHost, type WebHost } from '../../src/main/web';
import { DATA_WORKER_ENTRY, REPO_DIR, requireBuild, WORKER_ENTRY } from './app';

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
  screenshot(name: string, opts?: { fullPage?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function openSession(browser: Browser, opts: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark'; env?: NodeJS.ProcessEnv } = {}): Promise<Session> {
  requireBuild();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-e2e-'));
  // Engine workers get the extra environment (FINETUNE_BACKEND=cpu for a predictable backend).
  const launcher: WorkerLauncher = (entry, env) => forkLauncher(entry, { ...env, ...opts.env });
  const app = createApp({ dataDir, host: 'web', workerEntry: WORKER_ENTRY, dataWorkerEntry: DATA_WORKER_ENTRY, launcher });
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
    async screenshot(name, shotOpts = {}) {
      const file = path.join(RESULTS_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: shotOpts.fullPage ?? false });
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

/** What a FrameMonitor measured: the longest frame and how many passed the budget. */
export interface FrameReport {
  /** 'long-animation-frame' where Chromium supports it, else 'longtask'. */
  entryType: string;
  count: number;
  longestMs: number;
  overBudget: number;
  budgetMs: number;
  /** The longest frames, with what ran in them (long-animation-frame only). */
  longest: FrameDetail[];
  /** Every frame over the budget. */
  over: FrameDetail[];
}

/** One long frame: its duration, the main thread's blocking time, and where the time went. */
export interface FrameDetail {
  durationMs: number;
  blockingMs: number;
  /** Script time in the frame (long-animation-frame only). */
  scriptMs: number;
  /** From the start of rendering (rAF callbacks, style, layout, paint) to the frame's end. */
  renderMs: number;
  /** Style and layout to the frame's end. */
  styleLayoutMs: number;
  scripts: string[];
}

/**
 * Watches long frames in the page (PerformanceObserver, buffered from the page's start) and
 * reports the longest since the last reset.
 */
export async function installFrameMonitor(page: Page, budgetMs = 100): Promise<{ reset(): Promise<void>; report(): Promise<FrameReport> }> {
  await page.addInitScript(() => {
    type Frame = { durationMs: number; blockingMs: number; scriptMs: number; renderMs: number; styleLayoutMs: number; scripts: string[] };
    const w = window as unknown as { __frames: { type: string; durations: number[]; frames: Frame[] } };
    const supported = PerformanceObserver.supportedEntryTypes ?? [];
    const type = supported.includes('long-animation-frame') ? 'long-animation-frame' : 'longtask';
    w.__frames = { type, durations: [], frames: [] };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.__frames.durations.push(e.duration);
        const loaf = e as PerformanceEntry & {
          blockingDuration?: number;
          renderStart?: number;
          styleAndLayoutStart?: number;
          scripts?: { invoker: string; duration: number; sourceFunctionName: string }[];
        };
        const end = e.startTime + e.duration;
        w.__frames.frames.push({
          durationMs: Math.round(e.duration),
          blockingMs: Math.round(loaf.blockingDuration ?? 0),
          scriptMs: Math.round((loaf.scripts ?? []).reduce((a, sc) => a + sc.duration, 0)),
          renderMs: loaf.renderStart ? Math.round(end - loaf.renderStart) : 0,
          styleLayoutMs: loaf.styleAndLayoutStart ? Math.round(end - loaf.styleAndLayoutStart) : 0,
          scripts: (loaf.scripts ?? []).map((sc) => `${sc.invoker} ${sc.sourceFunctionName} ${Math.round(sc.duration)}ms`),
        });
      }
    }).observe({ type, buffered: true });
  });
  return {
    async reset() {
      await page.evaluate(() => {
        const f = (window as unknown as { __frames: { durations: number[]; frames: unknown[] } }).__frames;
        f.durations = [];
        f.frames = [];
      });
    },
    async report() {
      const f = await page.evaluate(() => (window as unknown as { __frames: { type: string; durations: number[]; frames: FrameDetail[] } }).__frames);
      return {
        entryType: f.type,
        count: f.durations.length,
        longestMs: f.durations.length ? Math.max(...f.durations) : 0,
        overBudget: f.durations.filter((d) => d > budgetMs).length,
        budgetMs,
        longest: [...f.frames].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3),
        over: f.frames.filter((fr) => fr.durationMs > budgetMs),
      };
    },
  };
}

/** A host started as the user starts it: a real process whose stdout prints the URL. */
export interface HostProcess {
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` in the repository (e.g. out/main/serve.js, scripts/start.mjs) and waits
 * for the line with the URL ("... serving on http://127.0.0.1:PORT/?token=...").
 */
export async function startHostProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<HostProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, { cwd: REPO_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const check = (): void => {
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing a URL; output:\n${out}`));
    });
  });
  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
