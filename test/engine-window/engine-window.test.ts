/**
 * The engine window's page in a real Chromium renderer (Debian's chromium via playwright-core) on
 * a software WebGPU adapter (SwiftShader): the built page out/renderer/engine-window/ is served
 * over http://127.0.0.1, handed a MessagePort as the preload would, and trains the golden step of
 * each reference family through the protocol, driven by EngineWindowClient from this process.
 *
 * Electron itself cannot launch here; what runs is the part that runs in its renderer. The test
 * bridges the client's port into the page (ArrayBuffers as base64 across Playwright), where a real
 * MessageChannel carries the messages to the page's EngineHost.
 *
 * Skips, saying why, when this Chromium offers no WebGPU adapter.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineWindowClient, type ClientPort } from '../../src/main/engine/window-client';
import { ENGINE_PORT_MESSAGE } from '../../src/main/engine/window-protocol';
import { REPO_DIR } from '../helpers/app';
import { CHROMIUM } from '../helpers/browser';
import { FAMILIES } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';
import { goldenStep } from './golden-step';

useHeavyTimeouts();

const PAGE_DIR = path.join(REPO_DIR, 'out/renderer');
const PAGE = path.join(PAGE_DIR, 'engine-window/index.html');

/** The flags that give headless Chromium a SwiftShader WebGPU adapter (no GPU here). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves the built renderer folder on 127.0.0.1 (nothing outside it). */
async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.resolve(root, `.${rel}`);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Encoded = unknown;

/** ArrayBuffers as {__ab: base64}, recursively (Playwright carries JSON-like values only). */
function encode(v: unknown): Encoded {
  if (v instanceof ArrayBuffer) return { __ab: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}
function decode(v: Encoded): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.__ab === 'string' && Object.keys(o).length === 1) {
      const b = Buffer.from(o.__ab, 'base64');
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/**
 * Hands the page a MessagePort the way the preload does (window.postMessage with ENGINE_PORT_MESSAGE),
 * keeps the other end in the page, and bridges it to a ClientPort here.
 */
async function connectPage(page: Page): Promise<ClientPort> {
  const listeners = new Set<(d: unknown) => void>();
  await page.exposeFunction('__engineReply', (m: Encoded) => {
    const data = decode(m);
    for (const l of listeners) l(data);
  });
  await page.evaluate((portMessage) => {
    const enc = (v: unknown): unknown => {
      if (v instanceof ArrayBuffer) {
        const bytes = new Uint8Array(v);
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { __ab: btoa(s) };
      }
      if (Array.isArray(v)) return v.map(enc);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
      return v;
    };
    const dec = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(dec);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.__ab === 'string' && Object.keys(o).length === 1) return Uint8Array.from(atob(o.__ab), (c) => c.charCodeAt(0)).buffer;
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, dec(x)]));
      }
      return v;
    };
    const w = window as unknown as { __engineReply(m: unknown): void; __engineSend(m: unknown): void };
    const channel = new MessageChannel();
    channel.port1.onmessage = (e) => w.__engineReply(enc(e.data));
    w.__engineSend = (m) => channel.port1.postMessage(dec(m));
    window.postMessage(portMessage, '*', [channel.port2]);
  }, ENGINE_PORT_MESSAGE);
  return {
    postMessage(message) {
      page.evaluate((m) => (window as unknown as { __engineSend(m: unknown): void }).__engineSend(m), encode(message)).catch((err: unknown) => {
        for (const l of listeners) l({ id: message.id, type: 'error', name: 'bridge', message: `the test's bridge to the page failed: ${(err as Error).message}` });
      });
    },
    onMessage(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

let browser: Browser | null = null;
let server: { url: string; close(): Promise<void> } | null = null;
let page: Page | null = null;
let client: EngineWindowClient | null = null;
/** Why the golden steps cannot run in this Chromium, or null. */
let noAdapter: string | null = null;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(PAGE)) throw new Error(`${PAGE} is missing: run "npx electron-vite build" before this test (npm test does).`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  server = await serveStatic(PAGE_DIR);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...WEBGPU_FLAGS],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(`${server.url}/engine-window/index.html`);
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu;
    if (!gpu) return { ok: false, why: 'navigator.gpu is missing (WebGPU disabled in this Chromium)' };
    const a = await gpu.requestAdapter();
    return a ? { ok: true, why: `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''}`.trim() } : { ok: false, why: 'requestAdapter() returned null' };
  });
  if (!adapter.ok) noAdapter = `no WebGPU adapter in ${CHROMIUM} with ${WEBGPU_FLAGS.join(' ')}: ${adapter.why}`;
  client = new EngineWindowClient(await connectPage(page), { timeoutMs: 5 * 60_000 });
});

afterAll(async () => {
  client?.close('test finished');
  await browser?.close();
  await server?.close();
});

describe('engine window page in Chromium (WebGPU, software adapter)', () => {
  it('greets on the port it was handed, reporting WebGPU', async () => {
    const hello = await client!.ready();
    expect(hello.webgpu).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it.for(FAMILIES)('%s: the golden training step through the protocol: loss, grad norm, parameters, logits; no tensor leaks', async (family, ctx) => {
    if (noAdapter) {
      ctx.skip(noAdapter);
      return;
    }
    const r = await goldenStep(client!, family, true);
    console.log(
      `[engine-window ${family}] ${r.init.device}: loss diff ${r.lossDiff.toExponential(2)}, grad norm rel ${r.gradNormRel.toExponential(2)}, ` +
        `clip diff ${r.clipCoefDiff.toExponential(2)}, logits before ${r.logitsBeforeDiff.toExponential(2)}, after ${r.logitsAfterDiff.toExponential(2)}, ` +
        `params first8 ${r.paramsFirst8Diff.toExponential(2)}, tensors ${r.tensorsAfterSecondStep}/${r.tensorsAfterThirdStep}`,
    );
    expect(r.init.backend).toBe('webgpu');
    expect(r.init.device).toMatch(/via WebGPU \(Chromium\)/);
    expect(r.lossDiff).toBeLessThanOrEqual(1e-5);
    expect(r.gradNormRel).toBeLessThanOrEqual(1e-4);
    expect(r.clipCoefDiff).toBeLessThanOrEqual(1e-6);
    expect(r.logitsBeforeDiff).toBeLessThanOrEqual(1e-4);
    expect(r.logitsAfterDiff).toBeLessThanOrEqual(1e-4);
    expect(r.paramsFirst8Diff).toBeLessThanOrEqual(1e-4);
    expect(r.tensorsAfterThirdStep).toBe(r.tensorsAfterSecondStep);
    expect(pageErrors).toEqual([]);
  });
});
