/** Small HTTP pieces of the web host: JSON answers, page headers, bodies and uploads with limits. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { AppErrorCode, CallResult } from '../../shared/errors';
import { formatBytes } from '../../shared/format';

export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Files dropped in the browser are uploaded into <data dir>/uploads (the browser cannot give a path). */
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024;

/** Why a request body was not received: behaviour keys on `code`, never on the message. */
export type RequestErrorCode = 'too_large' | 'aborted' | 'write_failed';

export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export const MIME: Record<string, string> = {
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
  '.csv': 'text/csv; charset=utf-8',
  '.zip': 'application/zip',
};

/** The security headers of every page. */
export function pageHeaders(contentType: string): http.OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(data);
}

export function sendError(res: http.ServerResponse, status: number, code: AppErrorCode, message: string, extra: http.OutgoingHttpHeaders = {}): void {
  const body: CallResult<never> = { ok: false, error: { code, message } };
  sendJson(res, status, body, extra);
}

/**
 * Stops reading a request whose body is refused: further data is discarded, so the answer (a
 * 413) reaches the client before the connection closes (`connection: close` on that answer).
 */
export function discardRest(req: http.IncomingMessage): void {
  req.removeAllListeners('data');
  req.unpipe();
  req.resume();
}

/** The body, at most `limit` bytes; past that a RequestError 'too_large' (the caller answers 413). */
export function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        discardRest(req);
        reject(new RequestError('too_large', `The request body is larger than ${formatBytes(limit)}.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => reject(new RequestError('aborted', 'The request was aborted.')));
    req.on('error', reject);
  });
}

/** A file name safe on every OS: letters, digits, dot, dash, underscore; at most 120 characters. */
export function safeUploadName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'upload';
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(-120);
  return cleaned || 'upload';
}

/** The prefix receiveUpload puts before an upload's name (time and random hex). */
export const UPLOAD_PREFIX = /^\d{10,}-[0-9a-f]{6}-/;

/** Streams an upload into `dir` (via a .part file); RequestError 'too_large' past `limit`. */
export function receiveUpload(req: http.IncomingMessage, dir: string, name: string, limit = MAX_UPLOAD_BYTES): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const final = path.join(dir, `${Date.now()}-${crypto.randomBytes(3).toString('hex')}-${safeUploadName(name)}`);
  const tmp = `${final}.part`;
  return new Promise((resolve, reject) => {
    let size = 0;
    let settled = false;
    const out = fs.createWriteStream(tmp, { flags: 'wx' });
    // The partial file is removed once the stream has closed (it may still be opening), then
    // the upload is refused: nothing of it is left when the caller answers.
    const fail = (err: RequestError): void => {
      if (settled) return;
      settled = true;
      const removeThenReject = (): void => {
        fs.rmSync(tmp, { force: true });
        reject(err);
      };
      if (out.closed) removeThenReject();
      else {
        out.once('close', removeThenReject);
        out.destroy();
      }
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        discardRest(req);
        fail(new RequestError('too_large', `The file is larger than ${formatBytes(limit)}.`));
      }
    });
    req.on('aborted', () => fail(new RequestError('aborted', 'The upload was aborted.')));
    out.on('error', (err) => fail(new RequestError('write_failed', err.message)));
    out.on('finish', () => {
      if (settled) return;
      try {
        fs.renameSync(tmp, final);
        settled = true;
        resolve(final);
      } catch (err) {
        fail(new RequestError('write_failed', (err as Error).message));
      }
    });
    req.pipe(out);
  });
}
