/**
 * The headless host: serves the built renderer and the same AppApi over HTTP on 127.0.0.1 only.
 *
 *   POST /api/<method>     body: JSON array of arguments   -> CallResult JSON
 *   POST /api/upload       a dropped file's bytes           -> its path in the data folder
 *   POST /api/download     {"path"} of an export or prediction this host made -> a one-time URL
 *   GET  /download/<ticket>/<name>   that file (a folder as a .zip), as an attachment
 *   GET  /api/events       Server-Sent Events: every AppEvent as `event: <name>` + JSON data
 *   GET  /favicon.ico      204, without a token (the browser asks before the page can say)
 *   GET  /*                the renderer (index.html for unknown paths)
 *
 * Who may call what is in web/auth.ts: the API token (printed in the URL) in a header for API
 * calls; a per-instance session cookie, which never holds the token, for the page's files and
 * the event stream. The Host header must name this loopback address (no DNS rebinding).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { ExportResult } from '../shared/api';
import { AppError, type CallResult } from '../shared/errors';
import { formatBytes } from '../shared/format';
import { isApiMethod, parseArgs } from '../shared/schema';
import type { App } from './app';
import { toErrorData } from './dispatch';
import { sweepUploads } from './training/housekeeping';
import { createAuth, TOKEN_HEADER, type Credentials } from './web/auth';
import { contentDisposition, DOWNLOAD_PREFIX, Downloads } from './web/downloads';
import { MAX_BODY_BYTES, MAX_UPLOAD_BYTES, MIME, pageHeaders, readBody, receiveUpload, RequestError, sendError, sendJson } from './web/http';

export { TOKEN_HEADER } from './web/auth';
export { safeUploadName } from './web/http';

export const LOOPBACK = '127.0.0.1';
export const UPLOAD_PATH = '/api/upload';
export const DOWNLOAD_PATH = '/api/download';

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
  /** The name of this instance's session cookie (it never holds the token). */
  cookieName: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Who a route lets in: the API token in a header, the page's session, or anyone. */
type Access = 'api' | 'page' | 'events' | 'public';

interface Context {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  creds: Credentials;
  /** The path's parts after the route's prefix. */
  rest: string;
}

interface Route {
  /** An exact path, or a prefix ending in '/'. */
  path: string;
  methods: readonly string[];
  access: Access;
  handle(ctx: Context): Promise<void> | void;
}

const CHANGING_METHODS = new Set(['exportRun', 'predictFile']);

/** Uploads older than this are deleted by the hourly sweep. */
export const UPLOAD_MAX_AGE_MS = 24 * 3600_000;

/** Starts the browser host on 127.0.0.1 (a random port unless options.port). */
export function createWebHost(options: WebHostOptions): Promise<WebHost> {
  return new WebHostServer(options).listen(options.port ?? 0);
}

/**
 * The browser host: one method per route (the route table below), the shared state (the token
 * and session, the event-stream clients, the download tickets) as fields.
 */
class WebHostServer {
  private readonly app: App;
  private readonly auth: ReturnType<typeof createAuth>;
  private readonly rendererDir: string;
  private readonly sseClients = new Set<http.ServerResponse>();
  private readonly downloads: Downloads;
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private port = 0;

  // First match wins: exact paths before the prefixes they fall under.
  private readonly routes: Route[] = [
    { path: '/favicon.ico', methods: ['GET', 'HEAD'], access: 'public', handle: (c) => this.favicon(c) },
    { path: '/api/events', methods: ['GET'], access: 'events', handle: (c) => this.events(c) },
    { path: UPLOAD_PATH, methods: ['POST'], access: 'api', handle: (c) => this.upload(c) },
    { path: DOWNLOAD_PATH, methods: ['POST'], access: 'api', handle: (c) => this.offerDownload(c) },
    { path: '/api/', methods: ['POST'], access: 'api', handle: (c) => this.callMethod(c) },
    { path: DOWNLOAD_PREFIX, methods: ['GET'], access: 'page', handle: (c) => this.sendDownload(c) },
    { path: '/', methods: ['GET', 'HEAD'], access: 'page', handle: (c) => this.page(c) },
  ];

  constructor(options: WebHostOptions) {
    this.app = options.app;
    this.auth = createAuth(options.token);
    this.rendererDir = path.resolve(options.rendererDir);
    const app = this.app;
    this.downloads = new Downloads(path.join(app.dataDir, 'downloads'), async (p) => {
      const run = await app.api.getRun(p.runId);
      return { format: p.format, runName: run.name, datasetName: run.datasetName, input: p.input };
    });
    // Web uploads older than a day are deleted now and every hour (prepared ones already are).
    const sweep = (): void => {
      try {
        sweepUploads(app.dataDir, UPLOAD_MAX_AGE_MS);
      } catch {
        // Best effort: the next sweep tries again.
      }
    };
    sweep();
    this.sweeper = setInterval(sweep, 3600_000).unref();
    this.unsubscribe = app.events.onAny((event, payload) => {
      const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
      for (const res of this.sseClients) res.write(frame);
    });
  }

  listen(requestedPort: number): Promise<WebHost> {
    const server = http.createServer((req, res) => {
      void this.handle(req, res).catch((err) => {
        console.error('web host error:', err);
        if (!res.headersSent) sendError(res, 500, 'internal', 'The web host failed on this request.');
        else res.end();
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(requestedPort, LOOPBACK, () => {
        server.off('error', reject);
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve({
          url: `http://${LOOPBACK}:${this.port}/?token=${this.auth.token}`,
          port: this.port,
          token: this.auth.token,
          cookieName: this.auth.cookieName,
          server,
          close: () =>
            new Promise<void>((done) => {
              this.unsubscribe();
              clearInterval(this.sweeper);
              for (const res of this.sseClients) res.end();
              this.sseClients.clear();
              this.downloads.close();
              server.close(() => done());
              server.closeAllConnections();
            }),
        });
      });
    });
  }

  private hostAllowed(req: http.IncomingMessage): boolean {
    const host = req.headers.host ?? '';
    return host === `${LOOPBACK}:${this.port}` || host === `localhost:${this.port}`;
  }

  /**
   * index.html. Opened with the printed URL (?token=), it carries the API token in a meta tag and
   * starts the session cookie; opened by the session alone (a reload) it carries no token: the
   * page kept it in sessionStorage.
   */
  private serveIndex(res: http.ServerResponse, creds: Credentials): void {
    const file = path.join(this.rendererDir, 'index.html');
    let html: string;
    try {
      html = fs.readFileSync(file, 'utf8');
    } catch {
      res.writeHead(500, pageHeaders('text/plain; charset=utf-8'));
      res.end(`The renderer is not built (${file} is missing). Run "npm run build" first.`);
      return;
    }
    if (creds.query || creds.header) html = html.replace('<head>', `<head>\n    <meta name="finetune-token" content="${this.auth.token}" />`);
    const headers = pageHeaders('text/html; charset=utf-8');
    headers['cache-control'] = 'no-store';
    if (!creds.session) headers['set-cookie'] = this.auth.sessionCookie();
    res.writeHead(200, headers);
    res.end(html);
  }

  private serveStatic(res: http.ServerResponse, pathname: string): boolean {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    if (rel.includes('\0')) return false;
    const file = path.resolve(this.rendererDir, '.' + path.posix.normalize('/' + rel));
    if (!file.startsWith(this.rendererDir + path.sep)) return false;
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
  }

  private events({ req, res }: Context): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.write(': connected\n\n');
    this.sseClients.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15000);
    req.on('close', () => {
      clearInterval(ping);
      this.sseClients.delete(res);
    });
  }

  private async upload({ req, res, url }: Context): Promise<void> {
    const name = url.searchParams.get('name') ?? 'upload';
    try {
      const file = await receiveUpload(req, path.join(this.app.dataDir, 'uploads'), name);
      sendJson(res, 200, { ok: true, value: file } satisfies CallResult<string>);
    } catch (err) {
      if (err instanceof RequestError && err.code === 'too_large') {
        sendError(res, 413, 'invalid_input', `The file is larger than ${formatBytes(MAX_UPLOAD_BYTES)}.`, { connection: 'close' });
      } else {
        sendError(res, 400, 'io', `The upload of ${name} did not complete; try again.`);
      }
    }
  }

  /** The body as JSON, or an answer already sent (413, 400) and undefined. */
  private async jsonBody({ req, res }: Context): Promise<{ value: unknown } | undefined> {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof RequestError && err.code === 'too_large') sendError(res, 413, 'invalid_input', `The request body is larger than ${formatBytes(MAX_BODY_BYTES)}.`, { connection: 'close' });
      else sendError(res, 400, 'invalid_input', 'The request body did not arrive whole.');
      return undefined;
    }
    if (body.length === 0) return { value: [] };
    try {
      return { value: JSON.parse(body.toString('utf8')) as unknown };
    } catch {
      sendError(res, 400, 'invalid_input', 'The request body is not valid JSON.');
      return undefined;
    }
  }

  private async offerDownload(ctx: Context): Promise<void> {
    const body = await this.jsonBody(ctx);
    if (!body) return;
    const requested = (body.value as { path?: unknown } | null)?.path;
    if (typeof requested !== 'string') {
      sendError(ctx.res, 400, 'invalid_input', 'Give {"path": ...} of an export or a prediction file.');
      return;
    }
    try {
      sendJson(ctx.res, 200, { ok: true, value: await this.downloads.offer(requested) });
    } catch (err) {
      sendJson(ctx.res, 200, { ok: false, error: toErrorData(err, 'download') } satisfies CallResult<never>);
    }
  }

  private sendDownload({ res, rest }: Context): void {
    const ticket = this.downloads.take(rest.split('/')[0] ?? '');
    if (!ticket) {
      res.writeHead(404, pageHeaders('text/plain; charset=utf-8'));
      res.end('This download link was used already or has expired: download again from the this.app.');
      return;
    }
    const headers = pageHeaders(MIME[path.extname(ticket.filename).toLowerCase()] ?? 'application/octet-stream');
    headers['content-length'] = fs.statSync(ticket.file).size;
    headers['content-disposition'] = contentDisposition(ticket.filename);
    headers['cache-control'] = 'no-store';
    res.writeHead(200, headers);
    const stream = fs.createReadStream(ticket.file);
    stream.pipe(res);
    res.on('close', () => {
      stream.destroy();
      this.downloads.done(ticket);
    });
  }

  /** An API call: arguments parsed once here (400 when invalid), then run. */
  private async callMethod(ctx: Context): Promise<void> {
    const method = ctx.rest;
    // Transport errors get a 4xx status; a call that ran and failed (a run that is not there, a
    // conflict) answers 200 with ok: false, as JSON-RPC does: the page shows its message, and the
    // browser logs no failed request for an outcome the app expected.
    if (!isApiMethod(method)) {
      sendError(ctx.res, 404, 'not_found', `Unknown method "${method}".`);
      return;
    }
    const body = await this.jsonBody(ctx);
    if (!body) return;
    let args: unknown[];
    try {
      args = parseArgs(method, body.value) as unknown[];
    } catch (err) {
      const e = err instanceof AppError ? err.toData() : { code: 'invalid_input' as const, message: String(err) };
      sendJson(ctx.res, 400, { ok: false, error: e } satisfies CallResult<never>);
      return;
    }
    let result: CallResult<unknown>;
    try {
      const value = await (this.app.api[method] as (...a: unknown[]) => Promise<unknown>).apply(this.app.api, args);
      if (CHANGING_METHODS.has(method)) this.downloads.record(value as ExportResult, args[0] as string, method === 'predictFile' ? (args[1] as string) : undefined);
      result = { ok: true, value: value === undefined ? null : value };
    } catch (err) {
      result = { ok: false, error: toErrorData(err, method) };
    }
    sendJson(ctx.res, 200, result);
  }

  private page({ res, url, creds }: Context): void {
    if (url.pathname !== '/' && url.pathname !== '/index.html' && this.serveStatic(res, url.pathname)) return;
    this.serveIndex(res, creds);
  }

  private favicon({ res }: Context): void {
    res.writeHead(204, { 'cache-control': 'max-age=86400' });
    res.end();
  }

  private findRoute(pathname: string): { route: Route; rest: string } {
    for (const route of this.routes) {
      if (pathname === route.path) return { route, rest: '' };
      if (route.path.endsWith('/') && pathname.startsWith(route.path)) return { route, rest: pathname.slice(route.path.length) };
    }
    return { route: this.routes[this.routes.length - 1]!, rest: pathname };
  }

  /** Null when let in; else the refusal (status and message). */
  private refusal(access: Access, creds: Credentials, req: http.IncomingMessage): [number, string] | null {
    switch (access) {
      case 'public':
        return null;
      case 'api':
        // API calls need the header: a cookie alone would let any site post here (CSRF), and the
        // cookie is sent to every this.port of 127.0.0.1.
        if (!creds.header) return [401, `Missing or wrong ${TOKEN_HEADER} header: open the full URL (with ?token=...) printed where the web host started.`];
        if (!this.auth.sameOrigin(req, this.port)) return [403, 'This call came from another site or origin.'];
        return null;
      case 'events':
        if (!(creds.header || creds.session || creds.query)) return [401, 'Missing or wrong token: open the URL printed by the web host.'];
        if (!this.auth.sameOrigin(req, this.port)) return [403, 'This request came from another site or origin.'];
        return null;
      case 'page':
        return creds.header || creds.session || creds.query ? null : [401, 'Finetune Studio: missing or wrong token. Open the full URL (with ?token=...) printed where the web host started.'];
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.hostAllowed(req)) {
      sendError(res, 421, 'invalid_input', 'Wrong Host header: open the URL printed by the web host.');
      return;
    }
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${this.port}`);
    const { route, rest } = this.findRoute(url.pathname);
    const creds = this.auth.credentials(req, url);
    const refused = this.refusal(route.access, creds, req);
    if (refused) {
      if (route.access === 'page') {
        res.writeHead(refused[0], pageHeaders('text/plain; charset=utf-8'));
        res.end(refused[1]);
      } else {
        sendError(res, refused[0], 'invalid_input', refused[1]);
      }
      return;
    }
    if (!route.methods.includes(req.method ?? 'GET')) {
      sendError(res, 405, 'invalid_input', `Use ${route.methods.join(' or ')} for ${route.path === '/' ? 'pages' : route.path}.`, { allow: route.methods.join(', ') });
      return;
    }
    await route.handle({ req, res, url, creds, rest });
  }
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
