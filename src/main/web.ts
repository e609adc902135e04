/**
 * The headless host: serves the built renderer and the same AppApi over HTTP on 127.0.0.1 only.
 *
 *   POST /api/<method>   body: JSON array of arguments   -> CallResult JSON
 *   GET  /api/events     Server-Sent Events: every AppEvent as `event: <name>` + JSON data
 *   GET  /*              the renderer (index.html for unknown paths)
 *
 * A random token is made per launch and printed in the URL. Every request must carry it: in the
 * `x-finetune-token` header, or the cookie set when the printed URL is first opened. API calls
 * need the header (a cross-site page cannot set it, so no CSRF), and the Host header must name
 * this loopback address (no DNS rebinding).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { AppError, type AppErrorCode, type CallResult } from '../shared/errors';
import { isApiMethod, parseArgs } from '../shared/schema';
import type { App } from './app';
import { dispatch } from './dispatch';

export const LOOPBACK = '127.0.0.1';
export const TOKEN_HEADER = 'x-finetune-token';
const COOKIE = 'finetune_token';
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Files dropped in the browser are uploaded into <data dir>/uploads (the browser cannot give a path). */
const MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024;
export const UPLOAD_PATH = '/api/upload';

/** A file name safe on every OS: letters, digits, dot, dash, underscore; at most 120 characters. */
export function safeUploadName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'upload';
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(-120);
  return cleaned || 'upload';
}

function receiveUpload(req: http.IncomingMessage, dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const final = path.join(dir, `${Date.now()}-${crypto.randomBytes(3).toString('hex')}-${safeUploadName(name)}`);
  const tmp = `${final}.part`;
  return new Promise((resolve, reject) => {
    let size = 0;
    const out = fs.createWriteStream(tmp, { flags: 'wx' });
    const fail = (err: Error): void => {
      out.destroy();
      fs.rmSync(tmp, { force: true });
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) {
        req.destroy();
        fail(new Error('too large'));
      }
    });
    req.on('aborted', () => fail(new Error('aborted')));
    out.on('error', fail);
    out.on('finish', () => {
      try {
        fs.renameSync(tmp, final);
        resolve(final);
      } catch (err) {
        fail(err as Error);
      }
    });
    req.pipe(out);
  });
}

export interface WebHostOptions {
  app: App;
  /** Folder with the built renderer (index.html and assets). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); default random. */
  token?: string;
}

export interface WebHost {
  url: string;
  port: number;
  token: string;
  server: http.Server;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};


function tokensEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

function cookieToken(req: http.IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return null;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, code: AppErrorCode, message: string): void {
  const body: CallResult<never> = { ok: false, error: { code, message } };
  sendJson(res, status, body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The security headers of every page. */
function pageHeaders(contentType: string): http.OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

export function createWebHost(options: WebHostOptions): Promise<WebHost> {
  const { app } = options;
  const token = options.token ?? crypto.randomBytes(24).toString('base64url');
  const rendererDir = path.resolve(options.rendererDir);
  const sseClients = new Set<http.ServerResponse>();
  let port = 0;

  const unsubscribe = app.events.onAny((event, payload) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of sseClients) res.write(frame);
  });

  const hostAllowed = (req: http.IncomingMessage): boolean => {
    const host = req.headers.host ?? '';
    return host === `${LOOPBACK}:${port}` || host === `localhost:${port}`;
  };

  const serveIndex = (res: http.ServerResponse, setCookie: boolean): void => {
    const file = path.join(rendererDir, 'index.html');
    let html: string;
    try {
      html = fs.readFileSync(file, 'utf8');
    } catch {
      res.writeHead(500, pageHeaders('text/plain; charset=utf-8'));
      res.end(`The renderer is not built (${file} is missing). Run "npm run build" first.`);
      return;
    }
    // The page needs the token for its API calls; it only ever reaches an authenticated request.
    html = html.replace('<head>', `<head>\n    <meta name="finetune-token" content="${token}" />`);
    const headers = pageHeaders('text/html; charset=utf-8');
    headers['cache-control'] = 'no-store';
    if (setCookie) headers['set-cookie'] = `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, headers);
    res.end(html);
  };

  const serveStatic = (res: http.ServerResponse, pathname: string): boolean => {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    if (rel.includes('\0')) return false;
    const file = path.resolve(rendererDir, '.' + path.posix.normalize('/' + rel));
    if (!file.startsWith(rendererDir + path.sep)) return false;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return false;
    }
    if (!stat.isFile()) return false;
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers = pageHeaders(type);
    headers['content-length'] = stat.size;
    headers['cache-control'] = 'no-cache';
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
    return true;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      console.error('web host error:', err);
      if (!res.headersSent) sendError(res, 500, 'internal', 'The web host failed on this request.');
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!hostAllowed(req)) {
      sendError(res, 421, 'invalid_input', 'Wrong Host header: open the URL printed by the web host.');
      return;
    }
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    const headerToken = req.headers[TOKEN_HEADER];
    const queryToken = url.searchParams.get('token');
    const cookie = cookieToken(req);
    const byHeader = typeof headerToken === 'string' && tokensEqual(headerToken, token);
    const byQuery = queryToken !== null && tokensEqual(queryToken, token);
    const byCookie = cookie !== null && tokensEqual(cookie, token);

    if (url.pathname.startsWith('/api/')) {
      if (url.pathname === '/api/events') {
        if (!(byHeader || byCookie || byQuery)) {
          sendError(res, 401, 'invalid_input', 'Missing or wrong token: open the URL printed by the web host.');
          return;
        }
        if (req.method !== 'GET') {
          sendError(res, 405, 'invalid_input', 'Use GET for /api/events.');
          return;
        }
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-content-type-options': 'nosniff',
        });
        res.write(': connected\n\n');
        sseClients.add(res);
        const ping = setInterval(() => res.write(': ping\n\n'), 15000);
        req.on('close', () => {
          clearInterval(ping);
          sseClients.delete(res);
        });
        return;
      }
      // API calls need the header: a cookie alone would let any site post here (CSRF).
      if (!byHeader) {
        sendError(res, 401, 'invalid_input', `Missing or wrong ${TOKEN_HEADER} header.`);
        return;
      }
      if (req.method !== 'POST') {
        sendError(res, 405, 'invalid_input', 'Use POST for API calls.');
        return;
      }
      if (url.pathname === UPLOAD_PATH) {
        const name = url.searchParams.get('name') ?? 'upload';
        try {
          const file = await receiveUpload(req, path.join(app.dataDir, 'uploads'), name);
          sendJson(res, 200, { ok: true, value: file } satisfies CallResult<string>);
        } catch (err) {
          const tooLarge = (err as Error).message === 'too large';
          sendError(res, tooLarge ? 413 : 400, 'io', tooLarge ? `The file is larger than ${MAX_UPLOAD_BYTES / 2 ** 30} GB.` : `The upload of ${name} did not complete; try again.`);
        }
        return;
      }
      const method = url.pathname.slice('/api/'.length);
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch {
        sendError(res, 413, 'invalid_input', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
        return;
      }
      let args: unknown = [];
      if (body.length > 0) {
        try {
          args = JSON.parse(body.toString('utf8'));
        } catch {
          sendError(res, 400, 'invalid_input', 'The request body is not valid JSON.');
          return;
        }
      }
      // Transport errors get a 4xx status; a call that ran and failed (a run that is not there, a
      // conflict) answers 200 with ok: false, as JSON-RPC does: the page shows its message, and the
      // browser logs no failed request for an outcome the app expected.
      if (!isApiMethod(method)) {
        sendError(res, 404, 'not_found', `Unknown method "${method}".`);
        return;
      }
      try {
        parseArgs(method, args);
      } catch (err) {
        const e = err instanceof AppError ? err.toData() : { code: 'invalid_input' as const, message: String(err) };
        sendJson(res, 400, { ok: false, error: e } satisfies CallResult<never>);
        return;
      }
      sendJson(res, 200, await dispatch(app.api, method, args));
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'invalid_input', 'Only GET is served here.');
      return;
    }
    if (!(byCookie || byQuery || byHeader)) {
      res.writeHead(401, pageHeaders('text/plain; charset=utf-8'));
      res.end('Finetune Studio: missing or wrong token. Open the full URL (with ?token=...) printed where the web host started.');
      return;
    }
    if (url.pathname !== '/' && url.pathname !== '/index.html' && serveStatic(res, url.pathname)) return;
    serveIndex(res, byQuery && !byCookie);
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://${LOOPBACK}:${port}/?token=${token}`,
        port,
        token,
        server,
        close: () =>
          new Promise<void>((done) => {
            unsubscribe();
            for (const res of sseClients) res.end();
            sseClients.clear();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * Where the built renderer lies: out/renderer under the package root. The bundler moves this
 * module into out/main/chunks/ (or wherever it splits code), so the folder is found from the
 * nearest package.json above this file, not from a fixed relative path.
 */
export function defaultRendererDir(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'out', 'renderer');
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from, '../../renderer');
    dir = parent;
  }
}

export function isMainModule(metaUrl: string): boolean {
  const entry = process.argv[1];
  return !!entry && pathToFileURL(path.resolve(entry)).href === metaUrl;
}
