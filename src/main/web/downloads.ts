/**
 * Downloads in the browser host: the files this web host's calls produced (exportRun,
 * predictFile) can be fetched by the page, never any other path. A folder (a Hugging Face
 * model, a recipe) is zipped first; a predictions CSV is sent as it is. The page asks for a
 * download with the API token and gets a one-time URL (a random ticket, valid for a few
 * minutes), which the browser then opens as a normal download, streamed from disk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ExportFormat, ExportResult } from '../../shared/api';
import { AppError } from '../../shared/errors';
import { folderEntries, writeZip } from '../export/zip-writer';
import { UPLOAD_PREFIX } from './http';

export const DOWNLOAD_PREFIX = '/download/';
const TICKET_TTL_MS = 10 * 60 * 1000;

/** A file or folder one of this host's calls wrote. */
export interface Produced {
  path: string;
  format: ExportFormat;
  runId: string;
  /** predictFile's input file (the user's file), when there was one. */
  input?: string;
}

export interface NameParts {
  format: ExportFormat;
  runName: string;
  /** The run's dataset file name (an upload keeps its upload prefix; it is removed here). */
  datasetName?: string | null;
  input?: string;
}

export interface DownloadOffer {
  url: string;
  filename: string;
  bytes: number;
}

export interface Ticket {
  file: string;
  filename: string;
  /** A zip made for this download: removed once sent or expired. */
  temporary: boolean;
  expires: number;
}

/** The user's name for a file: no folder, no upload prefix, no extension. */
export function userStem(name: string): string {
  return path.basename(name).replace(UPLOAD_PREFIX, '').replace(/\.[^.]*$/, '');
}

/** Letters (any script), digits, dot, dash, underscore and space; at most 100 characters. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]+/gu, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-. ]+|[-. ]+$/g, '');
  return cleaned.slice(0, 100).replace(/[-. ]+$/, '') || 'download';
}

/** The download's name, after the user's file and the run: reviews-predictions-my-run.csv. */
export function downloadFileName(p: NameParts): string {
  const run = safeFileName(p.runName);
  const dataset = p.datasetName ? safeFileName(userStem(p.datasetName)) : '';
  const join = (...parts: string[]): string => parts.filter((s) => s && s !== 'download').join('-');
  switch (p.format) {
    case 'predictions':
      return p.input ? `${join(safeFileName(userStem(p.input)), 'predictions', run)}.csv` : `${join(dataset, run, 'evaluation-predictions')}.csv`;
    case 'hf':
      return `${join(dataset, run, 'model')}.zip`;
    case 'recipe':
      return `${join(dataset, run, 'recipe')}.zip`;
    case 'baseline':
      return `${join(dataset, 'keyword-baseline')}.json`;
  }
}

/** Content-Disposition for `filename`: an ASCII fallback plus the UTF-8 name (RFC 6266). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** Removes zip folders of earlier hosts (a host that was killed leaves its folder). */
function sweepStale(root: string, before: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(root, name);
    try {
      if (fs.statSync(dir).mtimeMs < before) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone already
    }
  }
}

export class Downloads {
  private readonly produced = new Map<string, Produced>();
  private readonly tickets = new Map<string, Ticket>();

  private readonly dir: string;

  constructor(
    /** Where zips are made: a folder per host under it; folders of hosts long gone are removed. */
    root: string,
    private readonly names: (p: Produced) => Promise<NameParts>,
  ) {
    this.dir = path.join(root, `${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    sweepStale(root, Date.now() - 2 * TICKET_TTL_MS);
  }

  /** Notes what a call wrote, so that the page may download it. */
  record(result: ExportResult, runId: string, input?: string): void {
    this.produced.set(path.resolve(result.path), { path: path.resolve(result.path), format: result.format, runId, input });
  }

  /** A one-time URL for something this host produced; not_found for any other path. */
  async offer(requested: string): Promise<DownloadOffer> {
    this.expire();
    const p = this.produced.get(path.resolve(requested));
    if (!p || !fs.existsSync(p.path)) throw new AppError('not_found', 'Only files this session exported or predicted can be downloaded; export again.');
    const filename = downloadFileName(await this.names(p));
    const ticket = crypto.randomBytes(24).toString('base64url');
    let file = p.path;
    let temporary = false;
    if (fs.statSync(p.path).isDirectory()) {
      fs.mkdirSync(this.dir, { recursive: true });
      file = path.join(this.dir, `${ticket}.zip`);
      await writeZip(file, folderEntries(p.path, filename.replace(/\.zip$/, '')));
      temporary = true;
    }
    this.tickets.set(ticket, { file, filename, temporary, expires: Date.now() + TICKET_TTL_MS });
    return { url: `${DOWNLOAD_PREFIX}${ticket}/${encodeURIComponent(filename)}`, filename, bytes: fs.statSync(file).size };
  }

  /** The ticket's file, once: a second request with the same ticket gets null. */
  take(ticket: string): Ticket | null {
    this.expire();
    const t = this.tickets.get(ticket);
    if (!t) return null;
    this.tickets.delete(ticket);
    return t;
  }

  /** Removes a temporary zip once it was sent (or failed to). */
  done(t: Ticket): void {
    if (t.temporary) fs.rmSync(t.file, { force: true });
  }

  close(): void {
    this.tickets.clear();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private expire(): void {
    const now = Date.now();
    for (const [k, t] of this.tickets) {
      if (t.expires < now) {
        this.done(t);
        this.tickets.delete(k);
      }
    }
  }
}
