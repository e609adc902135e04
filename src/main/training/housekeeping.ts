/**
 * Cleaning what a killed process leaves behind, in a run folder and in the web host's uploads:
 *  - temp folders and files named with their writer's pid (.model.tmp-<pid>-<ts>,
 *    checkpoints/.tmp-checkpoint-<n>-<pid>-<ts>, .<file>.<pid>.<ts>.tmp, .model.old-<pid>-<ts>)
 *    are removed only when that pid is gone, so a live trainer's files are never touched;
 *  - a model swap interrupted between its renames is finished or undone (engine/save.ts);
 *  - uploads older than a given age are deleted (sweepUploads, called by the web host).
 * Callers only sweep runs that no live process owns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkpointsDir } from '../engine/checkpoint';
import { MODEL_DIR } from '../engine/layout';
import { settleModelSwap } from '../engine/save';
import { runDir, runsDir } from '../paths';
import { pidExists } from '../store/ownership';

/** The pid in a temp name this app writes, or null when the name is not one of them. */
export function tempOwnerPid(name: string): number | null {
  const patterns = [
    /^\.[^/]+\.tmp-(\d+)-\d+$/, // .model.tmp-<pid>-<ts> (saveModelFolder)
    /^\.[^/]+\.old-(\d+)-\d+$/, // .model.old-<pid>-<ts> (the previous swap scheme)
    /^\.tmp-checkpoint-\d+-(\d+)-\d+$/, // checkpoints/.tmp-checkpoint-<n>-<pid>-<ts>
    /^\.[^/]+\.(\d+)\.\d+\.tmp$/, // .<file>.<pid>.<ts>.tmp (writeFileAtomic)
  ];
  for (const re of patterns) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

export interface SweepResult {
  removed: string[];
  bytes: number;
}

function sizeOf(p: string): number {
  try {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return st.size;
    let total = 0;
    for (const e of fs.readdirSync(p)) total += sizeOf(path.join(p, e));
    return total;
  } catch {
    return 0;
  }
}

function sweepFolder(dir: string, result: SweepResult, isDead: (pid: number) => boolean): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = tempOwnerPid(name);
    // A half-deleted folder (fsutil.removeDirSafely) carries no pid: it was going away anyway.
    const stale = name.startsWith('.deleting-') || (pid !== null && pid !== process.pid && isDead(pid));
    if (!stale) continue;
    const p = path.join(dir, name);
    result.bytes += sizeOf(p);
    fs.rmSync(p, { recursive: true, force: true });
    result.removed.push(p);
  }
}

/**
 * Removes a run's stale temp files (whose writer is gone) and settles an interrupted model swap.
 * Call it only for a run no live process is training.
 */
export function sweepRunFolder(dir: string, isDead: (pid: number) => boolean = (pid) => !pidExists(pid)): SweepResult & { model: ReturnType<typeof settleModelSwap> } {
  const result: SweepResult = { removed: [], bytes: 0 };
  if (!fs.existsSync(dir)) return { ...result, model: 'none' };
  // The previous swap scheme renamed model/ to .model.old-<pid>-<ts> before moving the new one
  // in: a kill between the two left only that folder. Put it back before sweeping temp names.
  const modelDir = path.join(dir, MODEL_DIR);
  let legacyRestored = false;
  if (!fs.existsSync(modelDir)) {
    const legacy = fs
      .readdirSync(dir)
      .filter((n) => /^\.model\.old-\d+-\d+$/.test(n) && isDead(tempOwnerPid(n)!))
      .sort((a, b) => Number(b.split('-').pop()) - Number(a.split('-').pop()))[0];
    if (legacy && fs.existsSync(path.join(dir, legacy, 'config.json'))) {
      fs.renameSync(path.join(dir, legacy), modelDir);
      legacyRestored = true;
    }
  }
  sweepFolder(dir, result, isDead);
  sweepFolder(checkpointsDir(dir), result, isDead);
  const model = settleModelSwap(modelDir);
  return { ...result, model: model === 'none' && legacyRestored ? 'restored-old' : model };
}

/** sweepRunFolder for every run folder whose id `skip` does not name (runs a live process trains). */
export function sweepRunFolders(dataDir: string, skip: (runId: string) => boolean): SweepResult & { restoredModels: string[] } {
  const total: SweepResult & { restoredModels: string[] } = { removed: [], bytes: 0, restoredModels: [] };
  let ids: string[];
  try {
    ids = fs.readdirSync(runsDir(dataDir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return total;
  }
  sweepFolder(runsDir(dataDir), total, (pid) => !pidExists(pid));
  for (const id of ids) {
    if (id.startsWith('.') || skip(id)) continue;
    try {
      const r = sweepRunFolder(runDir(dataDir, id));
      total.removed.push(...r.removed);
      total.bytes += r.bytes;
      if (r.model !== 'none') total.restoredModels.push(id);
    } catch (err) {
      console.error(`run ${id}: could not clean its temp files:`, err);
    }
  }
  return total;
}

/** Where the web host keeps files dropped in the browser. */
export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, 'uploads');
}

/**
 * Deletes uploads (and unfinished .part files) last written more than maxAgeMs ago. The web host
 * calls it at start and on a timer; an upload is also deleted as soon as its dataset is prepared.
 */
export function sweepUploads(dataDir: string, maxAgeMs: number, now = Date.now()): SweepResult {
  const result: SweepResult = { removed: [], bytes: 0 };
  const dir = uploadsDir(dataDir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return result;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const p = path.join(dir, e.name);
    try {
      const st = fs.statSync(p);
      if (now - st.mtimeMs < maxAgeMs) continue;
      fs.rmSync(p, { force: true });
      result.removed.push(p);
      result.bytes += st.size;
    } catch {
      // Gone meanwhile.
    }
  }
  return result;
}

/** Deletes one upload once its dataset is prepared (only files inside the uploads folder). */
export function removeUpload(dataDir: string, file: string): boolean {
  const dir = path.resolve(uploadsDir(dataDir));
  const p = path.resolve(file);
  if (path.dirname(p) !== dir) return false;
  fs.rmSync(p, { force: true });
  return true;
}
