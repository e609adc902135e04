/**
 * The engine window's page in Debian's Chromium (playwright-core) on a software WebGPU adapter
 * (SwiftShader), with a MessagePort handed to it as the preload would and bridged to an
 * EngineWindowClient in this process (ArrayBuffers as base64 across Playwright). Shared by
 * engine-window.test.ts (golden steps) and remote-trainer-chromium.test.ts (a Trainer run).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EngineWindowClient, type ClientPort } from '../../src/main/engine/window-client';
import { ENGINE_PORT_MESSAGE, type EngineRequest } from '../../src/main/engine/window-protocol';
import { REPO_DIR } from '../helpers/app';
import { CHROMIUM } from '../helpers/browser';

export const PAGE_DIR = path.join(REPO_DIR, 'out/renderer');
export const PAGE = path.join(PAGE_DIR, 'engine-window/index.html');

/** The flags that give headless Chromium a SwiftShader WebGPU adapter (no GPU here). */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves the built renderer folder on 127.0.0.1 (nothing outside it). */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
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
export async function connectPage(page: Page): Promise<ClientPort> {
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

export interface EnginePage {
  client: EngineWindowClient;
  /** The type of each request the client sent, in order (what went to the page). */
  requests: EngineRequest['type'][];
  /** Why this Chromium has no WebGPU adapter, or null when it has one. */
  noAdapter: string | null;
  /** The page's uncaught errors and console errors. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Serves the built page, opens it in Chromium with WebGPU on SwiftShader (or with the flags given:
 * [] is Chromium on Linux without the app's opt-in), and connects a client to it.
 */
export async function openEnginePage(timeoutMs = 5 * 60_000, flags: readonly string[] = WEBGPU_FLAGS): Promise<EnginePage> {
  if (!fs.existsSync(PAGE)) throw new Error(`${PAGE} is missing: run "npx electron-vite build" before this test (npm test does).`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const server = await serveStatic(PAGE_DIR);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...flags],
    });
    const page: Page = await browser.newPage();
    const pageErrors: string[] = [];
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
    const noAdapter = adapter.ok ? null : `no WebGPU adapter in ${CHROMIUM} with ${flags.join(' ') || 'no WebGPU flags'}: ${adapter.why}`;
    const port = await connectPage(page);
    const requests: EngineRequest['type'][] = [];
    const client = new EngineWindowClient(
      {
        postMessage(message, transfer) {
          requests.push(message.type);
          port.postMessage(message, transfer);
        },
        onMessage: (l) => port.onMessage(l),
      },
      { timeoutMs },
    );
    const b = browser;
    return {
      client,
      requests,
      noAdapter,
      pageErrors,
      async close() {
        client.close('test finished');
        await b.close();
        await server.close();
      },
    };
  } catch (err) {
    await browser?.close();
    await server.close();
    throw err;
  }
}
