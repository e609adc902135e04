/**
 * The keyword baseline of a run's dataset as a file of its own: the JSON model (vocabulary, idf,
 * weights) that `finetune predict --baseline FILE` reads. The prepared dataset keeps the
 * original; an export is a copy, written whole (temp then rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { BASELINE_MODEL_FILE } from '../data/baseline-files';
import { BASELINE_FORMAT } from '../engine/baseline/index';
import { writeFileAtomic } from '../fsutil';
import { checkOutputFile } from './destination';
import type { ExportOptions, ExportResult } from './huggingface';
import { exportGuard, loadRunSource, runDatasetDir } from './run-source';

export const BASELINE_EXPORT_FILE = 'keyword-baseline.json';

/** Whether a file starts like a keyword baseline this app wrote (an earlier export may be replaced). */
function looksLikeBaselineJson(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').includes(`"format":"${BASELINE_FORMAT}"`);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The file an export to `out` writes: a path ending in .json is the file; anything else is a folder. */
export function baselineTarget(out: string): string {
  if (/\.json$/i.test(out) && !(fs.existsSync(out) && fs.statSync(out).isDirectory())) return path.resolve(out);
  return path.resolve(out, BASELINE_EXPORT_FILE);
}

export function exportBaseline(dataDir: string, runId: string, out: string, options: ExportOptions = {}): ExportResult {
  const source = loadRunSource(dataDir, runId, options.runs);
  const from = path.join(runDatasetDir(source), BASELINE_MODEL_FILE);
  let text: string;
  try {
    text = fs.readFileSync(from, 'utf8');
  } catch {
    throw new AppError(
      'not_found',
      `The dataset of run ${runId} has no keyword baseline (it was prepared before baselines existed, or computing it failed). Compute it with "finetune baseline ${source.config.dataset.fingerprint.slice(0, 12)}", then export again.`,
    );
  }
  const target = checkOutputFile(baselineTarget(out), {
    overwrite: options.overwrite,
    protect: exportGuard(source),
    kind: { name: 'keyword baseline', example: BASELINE_EXPORT_FILE, isEarlier: looksLikeBaselineJson },
  });
  if (options.signal?.aborted) throw new AppError('cancelled', `Exporting the keyword baseline of run ${runId} was cancelled; nothing was written.`);
  writeFileAtomic(target, text);
  options.runs?.addArtifact(runId, 'export', target);
  return { format: 'baseline', path: target, files: [path.basename(target)], bytes: Buffer.byteLength(text) };
}
