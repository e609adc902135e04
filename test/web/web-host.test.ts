import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { createWebHost, TOKEN_HEADER, type WebHost } from '../../src/main/web';

let dir: string;
let app: App;
let host: WebHost;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-web-'));
  const renderer = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><html><head><title>t</title></head><body>app</body></html>');
  fs.writeFileSync(path.join(renderer, 'assets', 'main.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  app = createApp({ dataDir: path.join(dir, 'data'), host: 'web' });
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
  body: string;
}

function request(pathname: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: host.port, path: pathname, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...opts.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const call = (method: string, args: unknown, headers: Record<string, string> = { [TOKEN_HEADER]: host.token }) =>
  request(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof args === 'string' ? args : JSON.stringify(args) });

describe('web host', () => {
  it('listens on 127.0.0.1 only and prints a URL with its token', () => {
    const address = host.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses every request without the token', async () => {
    expect((await request('/')).status).toBe(401);
    expect((await request('/assets/main.js')).status).toBe(401);
    expect((await call('listRuns', [], {})).status).toBe(401);
    expect((await call('listRuns', [], { [TOKEN_HEADER]: 'wrong' })).status).toBe(401);
    expect((await request('/api/events')).status).toBe(401);
  });

  it('serves the page with the token meta and an HttpOnly cookie, then assets by cookie', async () => {
    const page = await request(`/?token=${host.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<meta name="finetune-token" content="${host.token}"`);
    const cookie = String(page.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const asset = await request('/assets/main.js', { headers: { cookie: cookie.split(';')[0]! } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    // An unknown path gets the app (client routes), never a file outside the renderer.
    const traversal = await request('/../secret.txt', { headers: { cookie: cookie.split(';')[0]! } });
    expect(traversal.body).not.toContain('secret');
    const encoded = await request('/assets/%2e%2e/%2e%2e/secret.txt', { headers: { cookie: cookie.split(';')[0]! } });
    expect(encoded.body).not.toContain('secret');
  });

  it('API calls need the header, not just the cookie (no CSRF)', async () => {
    const page = await request(`/?token=${host.token}`);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    expect((await call('listRuns', [], { cookie })).status).toBe(401);
  });

  it('answers calls, 400 for bad JSON or bad arguments, 404 for unknown methods, 405 for GET; a failed call is ok: false', async () => {
    const ok = await call('listRuns', []);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ ok: true, value: [] });
    const info = JSON.parse((await call('systemInfo', [])).body);
    expect(info.value.host).toBe('web');
    const bad = await call('listRuns', '{not json');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('invalid_input');
    const unknown = await call('dropAllTables', []);
    expect(unknown.status).toBe(404);
    const badArgs = await call('renameRun', ['../../etc', 'x']);
    expect(badArgs.status).toBe(400);
    expect(JSON.parse(badArgs.body).error).toMatchObject({ code: 'invalid_input', field: 'id' });
    const missing = await call('getRun', ['no-such-run']);
    expect(missing.status).toBe(200);
    expect(JSON.parse(missing.body).error.code).toBe('not_found');
    expect(JSON.parse(missing.body).error.message).toMatch(/no run "no-such-run"/);
    expect((await request('/api/listRuns', { headers: { [TOKEN_HEADER]: host.token } })).status).toBe(405);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const r = await request('/api/listRuns', { method: 'POST', headers: { host: 'evil.example', [TOKEN_HEADER]: host.token }, body: '[]' });
    expect(r.status).toBe(421);
  });

  it('streams app events over Server-Sent Events', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: host.port, path: `/api/events?token=${host.token}`, headers: { host: `127.0.0.1:${host.port}` } }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          buf += c;
          if (buf.includes('event: runs-changed')) {
            req.destroy();
            resolve(buf);
          }
        });
        setTimeout(() => app.events.emit('runs-changed', { reason: 'renamed', runId: 'x' }), 50);
      });
      req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
    });
    expect(received).toContain('data: {"reason":"renamed","runId":"x"}');
  });
});
