/**
 * Downloading a model from the Hugging Face Hub into the shared cache, on top of @huggingface/hub.
 *
 * From the library, unchanged: modelInfo (the commit a revision points to), listFiles (the file
 * tree with sizes, git oids and LFS sha256), downloadFile (the resolve URL, the size/ETag probe,
 * and a Blob whose slice(start) issues the HTTP Range request), and its `fetch` option.
 *
 * Added around it, through that `fetch` option:
 *   - cancel: every request carries an AbortSignal joined to the caller's;
 *   - stall timeout: a request that gets no headers or no body bytes for stallTimeoutMs is aborted;
 *   - a record of each response's status and headers (the library reduces errors of its streams
 *     to a message string), so that 401/403/404/416/5xx become precise errors.
 *
 * Done here, because the library cannot: its downloadFileToCacheDir truncates the .incomplete file
 * on every call (no resume), renames it into blobs/ without checking size or hash, links the
 * snapshot non-atomically, and never writes refs/. So this module writes blobs/<etag>.incomplete
 * itself: it resumes from the bytes already there (Range via Blob.slice), counts bytes for
 * progress, checks the size and the hash (sha256 = the LFS etag, or the git blob sha1 for small
 * files) before the atomic rename into blobs/, then links snapshots/<commit>/<file> atomically
 * and writes refs/<revision>. Transient failures (a dropped connection, a stall, 5xx) are retried
 * a few times, each retry resuming where the last stopped.
 *
 * Only the files training needs are fetched (config, tokenizer files, one weights format), not
 * the TensorFlow/Flax/ONNX copies a repo may also hold.
 */
import { formatBytes } from '../../shared/format';
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadFile, HUB_URL, HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { AppError } from '../../shared/errors';
import type { DownloadProgress, WeightsFormat } from '../../shared/models';
import { fsyncPath, renameWithRetry } from '../fsutil';
import { blobPath, COMMIT_HASH, hubCacheDir, linkIntoSnapshot, repoDir, snapshotDir, snapshotFileOk, writeRef } from './cache';
import { shardNames, WEIGHT_FILES } from '../hf/weights';

// ---------------------------------------------------------------------------------------------
// Connection settings: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE
// ---------------------------------------------------------------------------------------------

export interface HubOptions {
  /** Access token for gated and private models. Default: HF_TOKEN, else the token file `huggingface-cli login` writes. */
  token?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** Default: hubCacheDir(env) (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Environment to read the defaults from (tests). Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface HubConnection {
  hubUrl: string;
  accessToken: `hf_${string}` | undefined;
  cacheDir: string;
}

/** The token Python's huggingface_hub would use: HF_TOKEN, then HF_TOKEN_PATH / HF_HOME/token. */
function defaultToken(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = env.HF_TOKEN_PATH?.trim() || path.join(env.HF_HOME?.trim() || path.join(env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache'), 'huggingface'), 'token');
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

export function hubConnection(options: HubOptions = {}): HubConnection {
  const env = options.env ?? process.env;
  const rawUrl = (options.hubUrl ?? env.HF_ENDPOINT?.trim()) || HUB_URL;
  let hubUrl: string;
  try {
    const u = new URL(rawUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    hubUrl = rawUrl.replace(/\/+$/, '');
  } catch {
    throw new AppError('invalid_input', `HF_ENDPOINT "${rawUrl}" is not an http(s) URL; unset it to use https://huggingface.co`, 'hubUrl');
  }
  const token = options.token?.trim() || defaultToken(env);
  if (token !== undefined && !token.startsWith('hf_')) {
    throw new AppError('invalid_input', 'the Hugging Face token must start with "hf_"; copy it again from https://huggingface.co/settings/tokens (HF_TOKEN or the app settings)', 'token');
  }
  return { hubUrl, accessToken: token as `hf_${string}` | undefined, cacheDir: options.cacheDir ?? hubCacheDir(env) };
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Why a download failed, where the caller acts on it (never on the message's words). */
export type DownloadFailure = 'connection-broke' | 'resume-refused';

/** A download failure; `retryable` ones (dropped connection, stall, 5xx) are retried with resume. */
export class DownloadError extends AppError {
  constructor(
    code: AppError['code'],
    message: string,
    readonly retryable: boolean,
    field?: string,
    readonly failure?: DownloadFailure,
  ) {
    super(code, message, field);
  }
}

/** The Hub could not be reached at all (DNS, refused, timeout) while reading metadata: callers may fall back to the cache. */
export class HubUnreachableError extends DownloadError {
  constructor(message: string) {
    super('network', message, true);
  }
}

class StallError extends Error {
  constructor(readonly ms: number) {
    super(`no data for ${ms / 1000} s`);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'ECONNABORTED']);

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}


// ---------------------------------------------------------------------------------------------
// The fetch given to @huggingface/hub: signal, stall timeout, response record
// ---------------------------------------------------------------------------------------------

interface ResponseRecord {
  url: string;
  status: number;
  headers: Headers;
  /** The Range header the request carried, if any. */
  range: string | null;
}

interface FetchContext {
  /** Every response, in order. */
  responses: ResponseRecord[];
  stalled: StallError | null;
  cleanups: (() => void)[];
}

function newFetchContext(): FetchContext {
  return { responses: [], stalled: null, cleanups: [] };
}

function endFetchContext(ctx: FetchContext): void {
  for (const c of ctx.cleanups.splice(0)) c();
}

function hubFetch(ctx: FetchContext, signal: AbortSignal | undefined, stallTimeoutMs: number): typeof fetch {
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const disarm = (): void => clearTimeout(timer);
    const arm = (): void => {
      disarm();
      timer = setTimeout(() => {
        ctx.stalled = new StallError(stallTimeoutMs);
        controller.abort(ctx.stalled);
      }, stallTimeoutMs);
    };
    const cleanup = (): void => {
      disarm();
      signal?.removeEventListener('abort', onAbort);
    };
    ctx.cleanups.push(cleanup);
    const range = new Headers(init?.headers).get('range');
    arm();
    let res: Response;
    try {
      res = await fetch(input, { ...init, signal: controller.signal });
    } catch (err) {
      cleanup();
      throw err;
    }
    disarm();
    ctx.responses.push({ url: res.url, status: res.status, headers: res.headers, range });
    if (!res.body) {
      cleanup();
      return res;
    }
    const reader = res.body.getReader();
    let finished = false;
    // A body nobody reads (the library's size probe) is cancelled when the attempt ends, so its
    // connection is released instead of waiting for garbage collection.
    ctx.cleanups.push(() => {
      if (!finished) reader.cancel().catch(() => undefined);
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        arm();
        try {
          const { done, value } = await reader.read();
          disarm();
          if (done) {
            finished = true;
            cleanup();
            c.close();
          } else c.enqueue(value);
        } catch (err) {
          finished = true;
          cleanup();
          c.error(ctx.stalled ?? err);
        }
      },
      cancel(reason) {
        finished = true;
        cleanup();
        return reader.cancel(reason);
      },
    });
    const out = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(out, 'url', { value: res.url });
    return out;
  };
  return wrapped as typeof fetch;
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

class ProgressReporter {
  private readonly samples: [number, number][] = [];
  private lastEmit = 0;
  state: DownloadProgress;

  constructor(
    repo: string,
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    private readonly intervalMs = 100,
  ) {
    this.state = { repo, file: null, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0, etaSeconds: null, bytesPerSecond: 0, phase: 'metadata' };
  }

  /** Bytes that arrived over the network (they count towards the speed). */
  transferred(n: number): void {
    this.state.bytesDone += n;
    const now = Date.now();
    this.samples.push([now, this.state.bytesDone]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > 5000) this.samples.shift();
    this.emit(false);
  }

  /** Bytes already present (cache, resumed .incomplete): done, but not part of the speed. */
  present(n: number): void {
    this.state.bytesDone += n;
    for (const s of this.samples) s[1] += n;
    this.emit(false);
  }

  update(patch: Partial<DownloadProgress>, force = true): void {
    Object.assign(this.state, patch);
    this.emit(force);
  }

  private emit(force: boolean): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastEmit < this.intervalMs) return;
    this.lastEmit = now;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first && last ? (last[0] - first[0]) / 1000 : 0;
    const speed = dt > 0.2 ? (last![1] - first![1]) / dt : 0;
    this.state.bytesPerSecond = Math.round(speed);
    const left = Math.max(0, this.state.bytesTotal - this.state.bytesDone);
    this.state.etaSeconds = this.state.phase === 'done' ? 0 : speed > 0 ? Math.ceil(left / speed) : null;
    this.onProgress({ ...this.state });
  }
}

// ---------------------------------------------------------------------------------------------
// Which files a model needs
// ---------------------------------------------------------------------------------------------

/** Files read by the engine, the tokenizer converters or the export, besides the weights. */
export const MODEL_SIDE_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'spiece.model',
  'README.md',
];

interface FilePlan {
  path: string;
  /** Blob name: the LFS sha256, else the git blob sha1. */
  etag: string;
  size: number;
  /** Expected sha256 of the content (LFS files); null for small files checked by git sha1. */
  sha256: string | null;
}

function planEntry(e: ListFileEntry, repo: string): FilePlan {
  const sha256 = e.lfs?.oid ?? null;
  const etag = sha256 ?? e.oid;
  if (!etag || !(/^[0-9a-f]{64}$/.test(etag) || /^[0-9a-f]{40}$/.test(etag))) {
    throw new DownloadError('unsupported', `${repo}: the Hub lists ${e.path} without a usable content hash; cannot verify it`, false);
  }
  if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) throw new DownloadError('unsupported', `${repo}: ${e.path} has an LFS id that is not a sha256`, false);
  return { path: e.path, etag, size: e.lfs?.size ?? e.size, sha256 };
}

// ---------------------------------------------------------------------------------------------
// One file
// ---------------------------------------------------------------------------------------------

export interface DownloadOptions extends HubOptions {
  /** Branch, tag or commit hash. Default "main". */
  revision?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Abort a request that receives nothing for this long. Default 30 s. */
  stallTimeoutMs?: number;
  /** Automatic resumes after a dropped connection, a stall or a 5xx. Default 3. */
  retries?: number;
  /** Pause before retry n (times n). Default 1000 ms. */
  retryDelayMs?: number;
  /** Minimum interval between progress callbacks. Default 100 ms. */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  repo: string;
  /** The commit the revision resolved to. */
  commit: string;
  /** snapshots/<commit>: the model folder. */
  dir: string;
  /** Repo-relative paths of the files in the snapshot. */
  files: string[];
  weightsFormat: WeightsFormat;
  /** Bytes transferred by this call. */
  downloadedBytes: number;
  /** Bytes that were already in the cache (whole blobs or resumed partial ones). */
  reusedBytes: number;
}

interface Session {
  repo: string;
  commit: string;
  conn: HubConnection;
  options: DownloadOptions;
  progress: ProgressReporter;
  stallTimeoutMs: number;
  downloaded: number;
  reused: number;
}

/** Classifies a failure of one request sequence into a user-facing error. */
function classify(err: unknown, ctx: FetchContext, s: Session, what: string, metadata: boolean): DownloadError {
  if (err instanceof DownloadError) return err;
  if (s.options.signal?.aborted) {
    return new DownloadError('cancelled', `Download of ${s.repo} cancelled. What arrived is kept; download again to resume.`, false);
  }
  if (ctx.stalled) {
    const message = `${what}: no data from ${new URL(s.conn.hubUrl).host} for ${ctx.stalled.ms / 1000} s; the connection stalled`;
    return metadata ? new HubUnreachableError(message) : new DownloadError('network', `${message}. Download again to resume.`, true);
  }
  const failed = [...ctx.responses].reverse().find((r) => r.status >= 400);
  const status = err instanceof HubApiError ? err.statusCode : failed?.status;
  const errorCode = failed?.headers.get('x-error-code') ?? null;
  if (status !== undefined) {
    const page = `${s.conn.hubUrl}/${s.repo}`;
    if (status === 401 || status === 403) {
      const gated = errorCode === 'GatedRepo';
      if (!s.conn.accessToken) {
        return new DownloadError(
          'invalid_input',
          gated
            ? `${s.repo} is a gated model: accept its conditions at ${page} while logged in, then set HF_TOKEN (or the token in settings) to a token of that account`
            : `${s.repo} is private or does not exist; if it is private, set HF_TOKEN (or the token in settings) to a token that can read it`,
          false,
          'token',
        );
      }
      return new DownloadError(
        'invalid_input',
        gated
          ? `your token has no access to the gated model ${s.repo}: accept its conditions at ${page} with the token's account`
          : `the Hub refused your token for ${s.repo} (HTTP ${status}): check that the token is valid and can read this repo`,
        false,
        'token',
      );
    }
    if (status === 404) {
      if (errorCode === 'RevisionNotFound') return new DownloadError('not_found', `${s.repo} has no revision "${s.options.revision ?? 'main'}"; use a branch, tag or commit hash that exists`, false);
      if (errorCode === 'EntryNotFound') return new DownloadError('not_found', `${what}: the Hub has no such file in ${s.repo} at ${s.commit.slice(0, 8)}`, false);
      return new DownloadError('not_found', `no model "${s.repo}" on ${s.conn.hubUrl}; check the id (e.g. "roberta-base" or "google/bert_uncased_L-4_H-256_A-4")`, false);
    }
    if (status === 416) return new DownloadError('network', `${what}: the server refused to resume (HTTP 416); restarting the file`, true, undefined, 'resume-refused');
    if (status === 429 || status >= 500) {
      const message = `${what}: the Hub answered HTTP ${status}; try again in a moment`;
      return metadata ? new HubUnreachableError(message) : new DownloadError('network', message, true);
    }
    return new DownloadError('network', `${what}: the Hub answered HTTP ${status}`, false);
  }
  const code = causeCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if ((code && NETWORK_CODES.has(code)) || /fetch failed|terminated|socket|network/i.test(message)) {
    if (metadata) return new HubUnreachableError(`cannot reach ${s.conn.hubUrl} (${code ?? message}); check the connection, or work offline with models already downloaded`);
    return new DownloadError('network', `${what}: the connection broke (${code ?? message}); download again to resume`, true, undefined, 'connection-broke');
  }
  return new DownloadError('network', `${what}: ${message}`, false);
}

function normalizeEtag(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Hash of the bytes already in a partial file (for resuming the running checksum). */
async function hashExisting(file: string, length: number, hash: Hash): Promise<void> {
  if (length === 0) return;
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file, { start: 0, end: length - 1 })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
}

function newHash(plan: FilePlan): Hash {
  if (plan.sha256) return createHash('sha256');
  // git blob id: sha1("blob <size>\0" + content)
  const h = createHash('sha1');
  h.update(`blob ${plan.size}\0`);
  return h;
}

/** Finishes a complete .incomplete file: verify, rename into blobs/. */
function finishBlob(s: Session, plan: FilePlan, incomplete: string, blob: string, digest: string): void {
  const expected = plan.sha256 ?? plan.etag;
  if (digest !== expected) {
    fs.rmSync(incomplete, { force: true });
    throw new DownloadError(
      'network',
      `${plan.path}: checksum mismatch (${plan.sha256 ? 'sha256' : 'git sha1'} ${digest.slice(0, 12)}…, the Hub says ${expected.slice(0, 12)}…); the damaged download was deleted, nothing was added to the cache. Download again.`,
      false,
    );
  }
  fsyncPath(incomplete);
  renameWithRetry(incomplete, blob, 10);
  fsyncPath(path.dirname(blob));
}

/** One attempt at bringing a blob into blobs/ (resuming a partial file). */
async function fetchBlob(s: Session, plan: FilePlan, blob: string): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  const what = `${s.repo}/${plan.path}`;
  let offset = 0;
  try {
    offset = fs.statSync(incomplete).size;
  } catch {
    offset = 0;
  }
  if (offset > plan.size) {
    fs.truncateSync(incomplete, 0);
    offset = 0;
  }
  let hash = newHash(plan);
  await hashExisting(incomplete, offset, hash);
  s.progress.present(offset);
  if (offset === plan.size) {
    s.progress.update({ phase: 'verify' });
    finishBlob(s, plan, incomplete, blob, hash.digest('hex'));
    return;
  }

  const ctx = newFetchContext();
  const fetchFn = hubFetch(ctx, s.options.signal, s.stallTimeoutMs);
  let position = offset;
  let fd: number | null = null;
  try {
    const remote = await downloadFile({
      repo: { type: 'model', name: s.repo },
      path: plan.path,
      revision: s.commit,
      hubUrl: s.conn.hubUrl,
      accessToken: s.conn.accessToken,
      fetch: fetchFn,
      xet: false,
    });
    if (!remote) throw new DownloadError('not_found', `${what}: the Hub lists this file but has no such file at ${s.commit.slice(0, 8)}`, false);
    // ETag check: the Hub's X-Linked-Etag (LFS: the sha256) or, for a small file the Hub serves
    // itself, its ETag (the git blob sha1) must name the content the listing names. (Behind a
    // redirect fetch only shows the CDN's own ETag, which is not a content id: the sha256 check
    // after the transfer covers those files.)
    const probe = ctx.responses.find((r) => r.range === 'bytes=0-0' && r.status < 400);
    const linked = probe?.headers.get('x-linked-etag') ?? null;
    const etag = normalizeEtag(linked ?? (plan.sha256 === null ? (probe?.headers.get('etag') ?? null) : null));
    if (etag && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(etag) && etag !== plan.etag) {
      throw new DownloadError('network', `${what}: the Hub's ETag ${etag.slice(0, 12)}… differs from its file listing (${plan.etag.slice(0, 12)}…); the repo changed during the download. Download again.`, true);
    }
    const commitHeader = probe?.headers.get('x-repo-commit');
    if (commitHeader && COMMIT_HASH.test(commitHeader) && commitHeader !== s.commit) {
      throw new DownloadError('network', `${what}: served from commit ${commitHeader.slice(0, 8)} instead of ${s.commit.slice(0, 8)}`, true);
    }
    if (remote.size !== plan.size) {
      throw new DownloadError('network', `${what}: the Hub serves ${remote.size} bytes but lists ${plan.size}; download again later`, true);
    }
    fd = fs.openSync(incomplete, offset > 0 ? 'r+' : 'w');
    const reader = (offset > 0 ? remote.slice(offset) : remote).stream().getReader();
    let first = true;
    s.progress.update({ phase: 'download', file: plan.path });
    for (;;) {
      const { done, value } = await reader.read();
      if (first && offset > 0) {
        first = false;
        const data = ctx.responses[ctx.responses.length - 1];
        const contentRange = data?.headers.get('content-range') ?? null;
        if (data && data.status === 200) {
          // The server ignored Range and sends the whole file: start over from byte 0.
          s.progress.present(-offset);
          position = 0;
          offset = 0;
          fs.ftruncateSync(fd, 0);
          hash = newHash(plan);
        } else if (data && data.status === 206 && contentRange && !contentRange.startsWith(`bytes ${offset}-`)) {
          fs.ftruncateSync(fd, 0);
          throw new DownloadError('network', `${what}: the server resumed at the wrong offset (${contentRange}); restarting the file`, true);
        }
      }
      if (done) break;
      if (position + value.length > plan.size) {
        fs.closeSync(fd);
        fd = null;
        fs.rmSync(incomplete, { force: true });
        throw new DownloadError('network', `${what}: the server sent more than the ${plan.size} bytes listed; the partial file was deleted. Download again.`, true);
      }
      fs.writeSync(fd, value, 0, value.length, position);
      position += value.length;
      hash.update(value);
      s.downloaded += value.length;
      s.progress.transferred(value.length);
    }
    if (position < plan.size) {
      throw new DownloadError('network', `${what}: the connection closed after ${formatBytes(position)} of ${formatBytes(plan.size)}; what arrived is kept, download again to resume`, true);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    s.progress.update({ phase: 'verify' });
    finishBlob(s, plan, incomplete, blob, hash.digest('hex'));
  } catch (err) {
    const e = classify(err, ctx, s, what, false);
    if (e.failure === 'connection-broke' && position > 0) {
      throw new DownloadError('network', `${what}: the connection broke after ${formatBytes(position)} of ${formatBytes(plan.size)}; what arrived is kept, download again to resume`, true);
    }
    if (e.failure === 'resume-refused') fs.rmSync(incomplete, { force: true });
    throw e;
  } finally {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    endFetchContext(ctx);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** In-process lock per blob: two downloads of the same model in one app wait for each other. */
const blobLocks = new Map<string, Promise<void>>();

async function withBlobLock<T>(blob: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const held = blobLocks.get(blob);
    if (!held) break;
    await held.catch(() => undefined);
  }
  let release!: () => void;
  const lock = new Promise<void>((r) => (release = r));
  blobLocks.set(blob, lock);
  try {
    return await fn();
  } finally {
    blobLocks.delete(blob);
    release();
  }
}

/** Makes snapshots/<commit>/<file> exist: reuse the snapshot file or the blob, else download (with retries). */
async function ensureFile(s: Session, plan: FilePlan): Promise<void> {
  const pointer = path.join(snapshotDir(s.conn.cacheDir, s.repo, s.commit), ...plan.path.split('/'));
  const blob = blobPath(s.conn.cacheDir, s.repo, plan.etag);
  if (snapshotFileOk(pointer, plan.size)) {
    s.progress.present(plan.size);
    s.reused += plan.size;
    return;
  }
  await withBlobLock(blob, async () => {
    if (!snapshotFileOk(blob, plan.size)) {
      fs.mkdirSync(path.dirname(blob), { recursive: true });
      if (fs.existsSync(blob)) fs.rmSync(blob, { force: true }); // a blob of the wrong size is damaged
      if (plan.size === 0) {
        // Nothing to transfer (and a Range probe of an empty file is refused): check the id of "".
        fs.writeFileSync(`${blob}.incomplete`, '');
        finishBlob(s, plan, `${blob}.incomplete`, blob, newHash(plan).digest('hex'));
        linkIntoSnapshot(blob, pointer);
        return;
      }
      try {
        s.reused += Math.min(plan.size, fs.statSync(`${blob}.incomplete`).size);
      } catch {
        // nothing to resume
      }
      const retries = s.options.retries ?? 3;
      for (let attempt = 0; ; attempt++) {
        const before = s.progress.state.bytesDone;
        try {
          await fetchBlob(s, plan, blob);
          break;
        } catch (err) {
          // Bytes of a failed attempt are counted again by the next one (as resumed bytes).
          s.progress.present(-(s.progress.state.bytesDone - before));
          if (!(err instanceof DownloadError) || !err.retryable || attempt >= retries || s.options.signal?.aborted) throw err;
          await sleep((s.options.retryDelayMs ?? 1000) * (attempt + 1), s.options.signal);
          if (s.options.signal?.aborted) throw classify(new Error('aborted'), newFetchContext(), s, plan.path, false);
        }
      }
    } else {
      s.progress.present(plan.size);
      s.reused += plan.size;
    }
    linkIntoSnapshot(blob, pointer);
  });
}

// ---------------------------------------------------------------------------------------------
// A whole model
// ---------------------------------------------------------------------------------------------

function checkDiskSpace(dir: string, needed: number, repo: string): void {
  let probe = dir;
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  try {
    const st = fs.statfsSync(probe);
    const free = st.bavail * st.bsize;
    if (needed > free) {
      throw new AppError('io', `not enough disk space for ${repo}: ${formatBytes(needed)} needed, ${formatBytes(free)} free in ${dir}. Free some space or set HF_HUB_CACHE to another disk.`);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    // statfs unsupported: skip the check
  }
}

/**
 * Downloads (or completes) the files a model needs into the Hugging Face cache and returns its
 * snapshot folder. Files already in the cache are not transferred again; a partial file is
 * resumed. Throws AppError: invalid_input (token), not_found, network (HubUnreachableError when
 * the Hub cannot be reached), cancelled, unsupported, io.
 */
export async function downloadModel(repo: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const conn = hubConnection(options);
  const revision = options.revision ?? 'main';
  const progress = new ProgressReporter(repo, options.onProgress, options.progressIntervalMs);
  const s: Session = { repo, commit: '', conn, options, progress, stallTimeoutMs: options.stallTimeoutMs ?? 30_000, downloaded: 0, reused: 0 };
  progress.update({ phase: 'metadata' });

  // 1. The commit the revision points to, and the file tree at that commit.
  const ctx = newFetchContext();
  const fetchFn = hubFetch(ctx, options.signal, s.stallTimeoutMs);
  let entries: ListFileEntry[];
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], hubUrl: conn.hubUrl, accessToken: conn.accessToken, fetch: fetchFn });
    if (typeof info.sha !== 'string' || !COMMIT_HASH.test(info.sha)) throw new DownloadError('network', `${repo}: the Hub did not return a commit hash for "${revision}"`, false);
    s.commit = info.sha;
    entries = [];
    for await (const e of listFiles({ repo: { type: 'model', name: repo }, revision: s.commit, recursive: true, hubUrl: conn.hubUrl, accessToken: conn.accessToken, fetch: fetchFn })) {
      if (e.type === 'file') entries.push(e);
    }
  } catch (err) {
    throw classify(err, ctx, s, repo, true);
  } finally {
    endFetchContext(ctx);
  }

  // 2. Which files: config + tokenizer files + the preferred weights format.
  const byPath = new Map(entries.map((e) => [e.path, e]));
  if (!byPath.has('config.json')) {
    throw new AppError('unsupported', `${repo} has no config.json, so it is not a transformers model the app can train (files: ${entries.slice(0, 8).map((e) => e.path).join(', ')}${entries.length > 8 ? ', …' : ''})`);
  }
  const weights = WEIGHT_FILES.find((w) => byPath.has(w.file));
  if (!weights) {
    const others = entries.filter((e) => /\.(h5|msgpack|onnx|ot|ckpt\.index)$/.test(e.path)).map((e) => e.path);
    throw new AppError('unsupported', `${repo} has no model.safetensors or pytorch_model.bin${others.length ? ` (only ${others.join(', ')})` : ''}; the app reads PyTorch/safetensors weights`);
  }
  fs.mkdirSync(path.join(repoDir(conn.cacheDir, repo), 'refs'), { recursive: true });
  const plans: FilePlan[] = MODEL_SIDE_FILES.filter((f) => byPath.has(f)).map((f) => planEntry(byPath.get(f)!, repo));
  const weightPlan = planEntry(byPath.get(weights.file)!, repo);
  plans.push(weightPlan);
  progress.update({ filesTotal: plans.length, bytesTotal: plans.reduce((a, p) => a + p.size, 0) });

  if (weights.format === 'sharded-safetensors' || weights.format === 'sharded-pytorch-bin') {
    // The index names the shards: fetch it first.
    await ensureFile(s, weightPlan);
    const index = path.join(snapshotDir(conn.cacheDir, repo, s.commit), weights.file);
    for (const shard of shardNames(index)) {
      const e = byPath.get(shard);
      if (!e) throw new AppError('not_found', `${repo}: ${weights.file} names the shard ${shard}, which the repo does not have`);
      plans.push(planEntry(e, repo));
    }
    progress.update({ filesTotal: plans.length, bytesTotal: plans.reduce((a, p) => a + p.size, 0) });
  }

  const missingBytes = plans
    .filter((p) => !snapshotFileOk(path.join(snapshotDir(conn.cacheDir, repo, s.commit), p.path), p.size) && !snapshotFileOk(blobPath(conn.cacheDir, repo, p.etag), p.size))
    .reduce((a, p) => {
      let partial = 0;
      try {
        partial = fs.statSync(`${blobPath(conn.cacheDir, repo, p.etag)}.incomplete`).size;
      } catch {
        partial = 0;
      }
      return a + Math.max(0, p.size - partial);
    }, 0);
  checkDiskSpace(conn.cacheDir, missingBytes, repo);

  // 3. Each file, smallest first (so config and tokenizer are there early), with progress.
  let filesDone = 0;
  for (const plan of [...plans].sort((a, b) => a.size - b.size)) {
    if (plan === weightPlan && weights.format.startsWith('sharded')) {
      filesDone++; // the index, fetched above (its bytes are counted already)
      continue;
    }
    await ensureFile(s, plan);
    progress.update({ filesDone: ++filesDone, file: null });
  }

  // 4. Only now point the branch at this commit: an interrupted download keeps the old snapshot in use offline.
  writeRef(conn.cacheDir, repo, revision, s.commit);
  progress.update({ phase: 'done', file: null, bytesDone: progress.state.bytesTotal, filesDone: plans.length });
  return {
    repo,
    commit: s.commit,
    dir: snapshotDir(conn.cacheDir, repo, s.commit),
    files: plans.map((p) => p.path),
    weightsFormat: weights.format,
    downloadedBytes: s.downloaded,
    reusedBytes: s.reused,
  };
}
