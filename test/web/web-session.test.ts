/**
 * The browser host's session and downloads (issues 12.2, 12.7, 11.5, 10.5):
 * - the cookie never holds the API token and opens neither the API nor a page with the token;
 * - API calls from another site or origin are refused;
 * - a body over the limit gets its 413 before the connection closes;
 * - the favicon needs no token;
 * - only what this host exported can be downloaded, once per link, under the user's names.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportFormat, ExportResult } from '../../src/shared/api';
import { createApp, type App } from '../../src/main/app';
import { createWebHost, TOKEN_HEADER, type WebHost } from '../../src/main/web';
import { contentDisposition, downloadFileName, safeFileName } from '../../src/main/web/downloads';
import { ZipArchive } from '../../src/main/hf/zip-reader';
import { receiveUpload, RequestError } from '../../src/main/web/http';

let dir: string;
let app: App;
let host: WebHost;
const RUN = '20260101-000000-abcdef';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-websession-'));
  const renderer = path.join(dir, 'renderer');
  fs.mkdirSync(renderer, { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><html><head><title>t</title></head><body>app</body></html>');
  app = createApp({ dataDir: path.join(dir, 'data'), host: 'web' });
  // Exports stand in for a trained run: the host's download rules are what is tested here.
  const exportsDir = path.join(dir, 'data', 'runs', RUN, 'exports');
  app.api.exportRun = async (_id: string, format: ExportFormat): Promise<ExportResult> => {
    if (format === 'predictions') {
      const file = path.join(exportsDir, 'eval_predictions.csv');
      fs.mkdirSync(exportsDir, { recursive: true });
      fs.writeFileSync(file, 'text,label\na,b\n');
      return { format, path: file, files: ['eval_predictions.csv'] };
    }
    const folder = path.join(exportsDir, format === 'hf' ? 'huggingface' : 'recipe');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'config.json'), '{"model_type":"bert"}');
    fs.writeFileSync(path.join(folder, 'model.safetensors'), Buffer.alloc(1000, 7));
    return { format, path: folder, files: ['config.json', 'model.safetensors'] };
  };
  app.api.getRun = (async () => ({ id: RUN, name: 'first try', datasetName: '1796397029359-14f57b-reviews.csv' })) as unknown as App['api']['getRun'];
  host = await createWebHost({ app, rendererDir: renderer });
});
afterAll(async () => {
  await host.close();
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

function request(pathname: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: host.port, path: pathname, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const api = (method: string, args: unknown, headers: Record<string, string> = {}) =>
  request(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', [TOKEN_HEADER]: host.token, ...headers }, body: JSON.stringify(args) });

async function sessionCookie(): Promise<string> {
  const page = await request(`/?token=${host.token}`);
  return String(page.headers['set-cookie']).split(';')[0]!;
}

describe('the session cookie', () => {
  it('holds a per-instance session value, never the API token', async () => {
    const page = await request(`/?token=${host.token}`);
    const setCookie = String(page.headers['set-cookie']);
    const [name, value] = setCookie.split(';')[0]!.split('=');
    expect(name).toBe(host.cookieName);
    expect(name).toMatch(/^finetune_[0-9a-f]{12}$/);
    expect(value).not.toBe(host.token);
    expect(setCookie).not.toContain(host.token);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
  });

  it('opens the page files and events, but not the API, and no page carrying the token', async () => {
    const cookie = await sessionCookie();
    const page = await request('/', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('app');
    expect(page.text).not.toContain(host.token);
    expect((await request('/runs', { headers: { cookie } })).text).not.toContain(host.token);
    expect((await request('/api/listRuns', { method: 'POST', headers: { cookie }, body: '[]' })).status).toBe(401);
    expect((await request(DOWNLOAD_OFFER, { method: 'POST', headers: { cookie }, body: '{}' })).status).toBe(401);
  });

  it('an old-style finetune_token cookie with the token opens nothing', async () => {
    expect((await request('/', { headers: { cookie: `finetune_token=${host.token}` } })).status).toBe(401);
  });
});

const DOWNLOAD_OFFER = '/api/download';

describe('API calls from elsewhere', () => {
  it('are refused when the browser says another site or origin sent them', async () => {
    expect((await api('listRuns', [], { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await api('listRuns', [], { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await api('listRuns', [], { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await api('listRuns', [], { origin: 'http://evil.example' })).status).toBe(403);
    expect((await api('listRuns', [], { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${host.port}` })).status).toBe(200);
    expect((await api('listRuns', [])).status).toBe(200); // the CLI and scripts send neither
  });
});

describe('limits', () => {
  it('a body over 8 MB gets a 413 answer before the connection closes', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const r = await request('/api/listRuns', { method: 'POST', headers: { [TOKEN_HEADER]: host.token, 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error.code).toBe('invalid_input');
    expect(r.headers.connection).toBe('close');
  });

  it('an upload over its limit stops with the typed too_large code and leaves no partial file', async () => {
    const uploads = path.join(dir, 'small-uploads');
    const server = http.createServer((req, res) => {
      receiveUpload(req, uploads, 'big.csv', 1000).then(
        () => res.end('stored'),
        (err: unknown) => {
          res.writeHead(err instanceof RequestError && err.code === 'too_large' ? 413 : 400, { connection: 'close' });
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(64 * 1024, 0x41));
    });
    await new Promise<void>((r) => server.close(() => r()));
    expect(status).toBe(413);
    expect(fs.readdirSync(uploads)).toEqual([]);
  });

  it('the favicon answers without a token, and no 401', async () => {
    const r = await request('/favicon.ico');
    expect(r.status).toBe(204);
  });
});

describe('downloads', () => {
  it('names files after the user file and the run, safely', () => {
    expect(downloadFileName({ format: 'predictions', runName: 'first try', input: '/d/uploads/1796397029359-14f57b-test.csv' })).toBe('test-predictions-first try.csv');
    expect(downloadFileName({ format: 'hf', runName: 'first try', datasetName: '1796397029359-14f57b-reviews.csv' })).toBe('reviews-first try-model.zip');
    expect(downloadFileName({ format: 'recipe', runName: 'r/../../x', datasetName: null })).toBe('r-.-.-x-recipe.zip');
    expect(downloadFileName({ format: 'baseline', runName: 'first try', datasetName: '1796397029359-14f57b-reviews.csv' })).toBe('reviews-keyword-baseline.json');
    expect(safeFileName('../../etc/passwd')).not.toMatch(/[/\\]/);
    expect(safeFileName('ok "name"\r\n')).toBe('ok -name');
    expect(contentDisposition('Übersicht "a".csv')).toBe(`attachment; filename="_bersicht _a_.csv"; filename*=UTF-8''%C3%9Cbersicht%20%22a%22.csv`);
  });

  it('refuses any path this host did not export', async () => {
    const r = await request(DOWNLOAD_OFFER, { method: 'POST', headers: { [TOKEN_HEADER]: host.token }, body: JSON.stringify({ path: path.join(dir, 'renderer', 'index.html') }) });
    expect(JSON.parse(r.text)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('offers an exported folder as a zip, once, with a Content-Disposition name', async () => {
    const exported = JSON.parse((await api('exportRun', [RUN, 'hf'])).text) as { ok: true; value: ExportResult };
    expect(exported.ok).toBe(true);
    const offer = JSON.parse((await request(DOWNLOAD_OFFER, { method: 'POST', headers: { [TOKEN_HEADER]: host.token }, body: JSON.stringify({ path: exported.value.path }) })).text);
    expect(offer.ok).toBe(true);
    expect(offer.value.filename).toBe('reviews-first try-model.zip');
    const cookie = await sessionCookie();
    expect((await request(offer.value.url)).status).toBe(401); // the link alone is not enough
    const got = await request(offer.value.url, { headers: { cookie } });
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('application/zip');
    expect(got.headers['content-disposition']).toBe(contentDisposition('reviews-first try-model.zip'));
    expect(got.body.length).toBe(offer.value.bytes);
    const file = path.join(dir, 'got.zip');
    fs.writeFileSync(file, got.body);
    const zip = ZipArchive.open(file);
    try {
      expect([...zip.entries.keys()].sort()).toEqual(['reviews-first try-model/config.json', 'reviews-first try-model/model.safetensors']);
      expect(zip.read('reviews-first try-model/model.safetensors').equals(Buffer.alloc(1000, 7))).toBe(true);
    } finally {
      zip.close();
    }
    expect((await request(offer.value.url, { headers: { cookie } })).status).toBe(404); // used once
    // The zip made for the download is gone once sent.
    const downloads = path.join(dir, 'data', 'downloads');
    const left = fs.readdirSync(downloads).flatMap((d) => fs.readdirSync(path.join(downloads, d)));
    expect(left).toEqual([]);
  });

  it('sends a predictions CSV as it is', async () => {
    const exported = JSON.parse((await api('exportRun', [RUN, 'predictions'])).text) as { ok: true; value: ExportResult };
    const offer = JSON.parse((await request(DOWNLOAD_OFFER, { method: 'POST', headers: { [TOKEN_HEADER]: host.token }, body: JSON.stringify({ path: exported.value.path }) })).text);
    expect(offer.value.filename).toBe('reviews-first try-evaluation-predictions.csv');
    const got = await request(offer.value.url, { headers: { cookie: await sessionCookie() } });
    expect(got.headers['content-type']).toMatch(/text\/csv/);
    expect(got.text).toBe('text,label\na,b\n');
    expect(fs.existsSync(exported.value.path)).toBe(true); // the export itself stays
  });
});
