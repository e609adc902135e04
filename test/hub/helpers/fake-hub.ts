/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1, speaking the URL layout and headers the
 * real one uses:
 *   GET /api/models/{repo}/revision/{rev}   model info with "sha" (the commit)
 *   GET /api/models/{repo}/tree/{rev}       file list: oid (git sha1), size, lfs {oid sha256, size}
 *   GET /{repo}/resolve/{rev}/{path}        small files: 200/206 with ETag (git sha1), X-Repo-Commit;
 *                                           LFS files: 302 to a CDN origin with X-Linked-Etag (sha256),
 *                                           X-Linked-Size, X-Repo-Commit
 *   CDN: GET /blobs/{sha256}                the bytes, with Range; refuses an Authorization header
 *                                           (as S3 does next to a signed URL)
 * Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
 * Faults per file simulate a truncated response, a stall, wrong bytes, a wrong ETag, a server
 * that ignores Range, and slow transfers; every request is recorded.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  path: string;
  content: Buffer;
  lfs?: boolean;
}

export interface FakeRepo {
  id: string;
  commit: string;
  files: FakeFile[];
  /** Branch/tag -> commit. "main" defaults to `commit`. */
  refs?: Record<string, string>;
  gated?: boolean;
  private?: boolean;
}

export interface Fault {
  /** Send this many body bytes, then destroy the socket (Content-Length says the full size). */
  truncateAfter?: number;
  /** Stop sending after this many bytes and keep the connection open. */
  stallAfter?: number;
  /** Serve different bytes of the same size. */
  corrupt?: boolean;
  /** ETag header to send instead of the right one. */
  etag?: string;
  /** Answer a Range request with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Send the body in chunks of `chunk` bytes, `delayMs` apart. */
  slow?: { chunk: number; delayMs: number };
  /** How many data requests the fault applies to (default: all). */
  times?: number;
}

export interface RecordedRequest {
  origin: 'hub' | 'cdn';
  method: string;
  url: string;
  range: string | null;
  authorization: string | null;
}

export const GOOD_TOKEN = 'hf_good_token_for_tests';

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function lfsPointer(content: Buffer): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(content)}\nsize ${content.length}\n`);
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly faults = new Map<string, Fault>();
  readonly requests: RecordedRequest[] = [];
  private hub!: http.Server;
  private cdn!: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';
  cdnUrl = '';

  addRepo(repo: FakeRepo): void {
    this.repos.set(repo.id, repo);
  }

  /** A fault for a file path (applies to every repo that has it). */
  fault(filePath: string, fault: Fault): void {
    this.faults.set(filePath, { ...fault });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  dataRequests(file?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.range !== 'bytes=0-0' && (r.origin === 'cdn' || r.url.includes('/resolve/')) && (!file || r.url.includes(file) || r.origin === 'cdn'));
  }

  async start(): Promise<void> {
    this.hub = http.createServer((req, res) => this.handleHub(req, res));
    this.cdn = http.createServer((req, res) => this.handleCdn(req, res));
    for (const server of [this.hub, this.cdn]) {
      server.on('connection', (s) => {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    this.url = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    // "localhost" makes the CDN another origin, so fetch drops Authorization on the redirect.
    this.cdnUrl = `http://localhost:${(this.cdn.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  private record(origin: 'hub' | 'cdn', req: http.IncomingMessage): void {
    this.requests.push({ origin, method: req.method ?? 'GET', url: req.url ?? '', range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });
  }

  private json(res: http.ServerResponse, status: number, body: unknown, errorCode?: string): void {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (errorCode) headers['x-error-code'] = errorCode;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }

  private findRepo(name: string): FakeRepo | undefined {
    return this.repos.get(name);
  }

  private resolveRev(repo: FakeRepo, rev: string): string | undefined {
    if (rev === repo.commit || Object.values(repo.refs ?? {}).includes(rev)) return rev;
    const refs: Record<string, string> = { main: repo.commit, ...(repo.refs ?? {}) };
    return refs[rev];
  }

  /** Auth as the Hub does it: private repos hide (401), gated ones refuse files (401 / 403). */
  private authError(repo: FakeRepo, req: http.IncomingMessage, forFile: boolean): [number, string] | null {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (repo.private && token !== GOOD_TOKEN) return [401, 'RepoNotFound'];
    if (repo.gated && forFile) {
      if (!token) return [401, 'GatedRepo'];
      if (token !== GOOD_TOKEN) return [403, 'GatedRepo'];
    }
    return null;
  }

  private handleHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.record('hub', req);
    const url = new URL(req.url ?? '/', this.url);
    const pathname = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/(.+?)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(pathname);
    if (m) {
      const [, name, kind, rev] = m;
      const repo = this.findRepo(name!);
      if (!repo) return this.json(res, 404, { error: 'Repository not found' }, 'RepoNotFound');
      const auth = this.authError(repo, req, false);
      if (auth) return this.json(res, auth[0], { error: 'Invalid credentials in Authorization header' }, auth[1]);
      const commit = this.resolveRev(repo, rev!);
      if (!commit) return this.json(res, 404, { error: `Invalid rev id: ${rev}` }, 'RevisionNotFound');
      if (kind === 'revision') {
        return this.json(res, 200, {
          _id: `id-${repo.id}`,
          id: repo.id,
          sha: commit,
          private: !!repo.private,
          gated: repo.gated ? 'manual' : false,
          downloads: 0,
          likes: 0,
          lastModified: '2024-01-01T00:00:00.000Z',
          siblings: repo.files.map((f) => ({ rfilename: f.path })),
        });
      }
      return this.json(
        res,
        200,
        repo.files.map((f) =>
          f.lfs
            ? { type: 'file', oid: gitBlobSha1(lfsPointer(f.content)), size: f.content.length, path: f.path, lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: lfsPointer(f.content).length } }
            : { type: 'file', oid: gitBlobSha1(f.content), size: f.content.length, path: f.path },
        ),
      );
    }
    m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(pathname);
    if (m) {
      const [, name, rev, filePath] = m;
      const repo = this.findRepo(name!);
      if (!repo) return this.json(res, 404, { error: 'Repository not found' }, 'RepoNotFound');
      const auth = this.authError(repo, req, true);
      if (auth) return this.json(res, auth[0], { error: `Access to model ${repo.id} is restricted.` }, auth[1]);
      const commit = this.resolveRev(repo, rev!);
      if (!commit) return this.json(res, 404, { error: 'Revision not found' }, 'RevisionNotFound');
      const file = repo.files.find((f) => f.path === filePath);
      if (!file) return this.json(res, 404, { error: 'Entry not found' }, 'EntryNotFound');
      if (file.lfs) {
        const hash = sha256(file.content);
        res.writeHead(302, {
          location: `${this.cdnUrl}/blobs/${hash}?X-Amz-Signature=fake&path=${encodeURIComponent(file.path)}`,
          'x-linked-etag': `"${this.faults.get(file.path)?.etag ?? hash}"`,
          'x-linked-size': String(file.content.length),
          'x-repo-commit': commit,
          etag: `"${gitBlobSha1(lfsPointer(file.content))}"`,
        });
        res.end();
        return;
      }
      this.sendBytes(req, res, file, { etag: `"${this.faults.get(file.path)?.etag ?? gitBlobSha1(file.content)}"`, 'x-repo-commit': commit });
      return;
    }
    this.json(res, 404, { error: 'not found' });
  }

  private handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.record('cdn', req);
    if (req.headers.authorization) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
      return;
    }
    const url = new URL(req.url ?? '/', this.cdnUrl);
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m ? [...this.repos.values()].flatMap((r) => r.files).find((f) => f.lfs && sha256(f.content) === m[1]) : undefined;
    if (!file) {
      res.writeHead(404);
      res.end();
      return;
    }
    this.sendBytes(req, res, file, { etag: `"${this.faults.get(file.path)?.etag ?? sha256(file.content)}"` });
  }

  /** The bytes of a file, honouring Range, with the file's fault applied to data requests. */
  private sendBytes(req: http.IncomingMessage, res: http.ServerResponse, file: FakeFile, headers: Record<string, string>): void {
    const total = file.content.length;
    const range = req.headers.range;
    const isProbe = range === 'bytes=0-0';
    let fault = isProbe ? undefined : this.faults.get(file.path);
    if (fault && fault.times !== undefined) {
      if (fault.times <= 0) fault = undefined;
      else fault.times--;
    }
    let content = file.content;
    if (fault?.corrupt) {
      content = Buffer.from(content);
      content[content.length >> 1] ^= 0xff;
    }
    let start = 0;
    let end = total - 1;
    let status = 200;
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m && !fault?.ignoreRange) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), total - 1) : total - 1;
      if (start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` });
        res.end();
        return;
      }
      status = 206;
    }
    const body = content.subarray(start, end + 1);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${total}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const limit = fault?.truncateAfter ?? fault?.stallAfter ?? body.length;
    const chunk = fault?.slow?.chunk ?? 64 * 1024;
    const delay = fault?.slow?.delayMs ?? 0;
    let sent = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (sent >= Math.min(limit, body.length)) {
        if (fault?.truncateAfter !== undefined && sent < body.length) {
          res.socket?.destroy();
          return;
        }
        if (fault?.stallAfter !== undefined && sent < body.length) return; // hang: the client must time out
        res.end();
        return;
      }
      const n = Math.min(chunk, Math.min(limit, body.length) - sent);
      res.write(body.subarray(sent, sent + n));
      sent += n;
      if (delay > 0) setTimeout(next, delay);
      else setImmediate(next);
    };
    next();
  }
}
