/**
 * --model on the command line: a model folder ("~" expanded, made absolute) or a Hub id, which the
 * hub resolves into the Hugging Face cache (downloading it, with a progress line on a TTY).
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatEta, formatPercent } from '../../shared/format';
import { looksLikeLocalPath } from '../../shared/models-schema';
import type { DownloadProgress } from '../../shared/models';
import { resolveModel } from '../hub/resolve';
import { expandHome } from './args';
import type { CliIo } from './io';

/** What to hand the app: an absolute folder when the argument names one, else the Hub id as given. */
export function modelRef(raw: string): string {
  const ref = expandHome(raw.trim());
  if (looksLikeLocalPath(ref)) return path.resolve(ref);
  try {
    if (fs.statSync(ref).isDirectory()) return path.resolve(ref);
  } catch {
    // not a folder here: a Hub id
  }
  return ref;
}

/** A download progress line for a TTY ("\r..."), or null when nothing should be shown. */
export function downloadProgressLine(p: DownloadProgress): string {
  const pct = p.bytesTotal ? ` ${formatPercent(p.bytesDone / p.bytesTotal, 0)}` : '';
  return `\rDownloading ${p.repo}: ${p.file ?? ''}${pct} (${p.filesDone}/${p.filesTotal} files) ETA ${formatEta(p.etaSeconds)}\x1b[K`;
}

/** The model's local folder: the folder itself, or the Hub model's snapshot in the cache. */
export async function resolveModelArg(raw: string, io: CliIo): Promise<string> {
  let shown = false;
  const resolved = await resolveModel(modelRef(raw), {
    signal: io.signal,
    onProgress: (p) => {
      if (!io.isTTY || !io.write) return;
      io.write(downloadProgressLine(p));
      shown = true;
    },
  });
  if (shown && io.write) io.write('\n');
  if (resolved.note) io.err(`note: ${resolved.note}`);
  return resolved.dir;
}
