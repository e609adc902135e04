/**
 * Where an export goes. Every export is written beside its destination under a hidden temp
 * name and renamed into place once complete, so a destination holds the old content or the
 * new, never half of either. A folder is replaced only when it is empty, when it is an earlier
 * export of this app (its README.md carries EXPORT_MARKER), or when the caller says so
 * (overwrite); a folder that holds the app's data or the run itself is never replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { fsyncPath, fsyncTree, removeDirSafely, renameWithRetry } from '../fsutil';

/** Put in the README.md of every exported folder: how an earlier export is recognised. */
export const EXPORT_MARKER = '<!-- finetune-studio-export';

/** True when a is b or inside b. */
export function isInside(a: string, b: string): boolean {
  const rel = path.relative(path.resolve(b), path.resolve(a));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** An earlier export of this app: a README.md that carries the marker. */
export function isAppExport(dir: string): boolean {
  const readme = path.join(dir, 'README.md');
  let fd: number | undefined;
  try {
    fd = fs.openSync(readme, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').includes(EXPORT_MARKER);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface ProtectedFolder {
  dir: string;
  /** How messages name it ("the folder of run X"). */
  what: string;
  /** A subfolder where exports may go after all (the run's exports/ folder). */
  allowInside?: string;
}

export interface GuardedPaths {
  /** Folders the destination may neither be inside of nor contain (the run folder, the datasets). */
  protect: readonly ProtectedFolder[];
}

function checkProtected(target: string, guard: GuardedPaths): void {
  for (const p of guard.protect) {
    const allowed = p.allowInside !== undefined && isInside(target, p.allowInside) && path.resolve(target) !== path.resolve(p.allowInside);
    if (isInside(target, p.dir) && !allowed) {
      throw new AppError('invalid_input', `${target} is inside ${p.what} (${p.dir}); export to a folder outside it.`, 'out');
    }
    if (isInside(p.dir, target)) {
      throw new AppError('invalid_input', `${target} contains ${p.what} (${p.dir}); replacing it would delete that. Export to another folder.`, 'out');
    }
  }
}

/** A folder being written: fill `dir`, then commit() (or abort() on failure). */
export interface StagedFolder {
  /** The temp folder to write into. */
  dir: string;
  /** The final destination. */
  target: string;
  commit(): void;
  abort(): void;
}

/**
 * Stages a new folder for `target`. Refuses a target that is a file, a non-empty folder that is
 * not an earlier export (unless overwrite), or a folder under guard.
 */
export function stageFolder(target: string, options: { overwrite?: boolean } & GuardedPaths): StagedFolder {
  const out = path.resolve(target);
  checkProtected(out, options);
  if (fs.existsSync(out)) {
    const stat = fs.statSync(out);
    if (!stat.isDirectory()) throw new AppError('invalid_input', `${out} is a file; give a folder to export into.`, 'out');
    const entries = fs.readdirSync(out);
    if (entries.length && !options.overwrite && !isAppExport(out)) {
      throw new AppError(
        'conflict',
        `${out} is not empty (${entries.length} item${entries.length === 1 ? '' : 's'}) and is not an earlier export; choose an empty or new folder, or allow overwriting (--overwrite) to replace it.`,
        'out',
      );
    }
  }
  const parent = path.dirname(out);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw new AppError('io', `Cannot create ${parent}: ${(err as Error).message}`, 'out');
  }
  const dir = path.join(parent, `.${path.basename(out)}.export-${process.pid}-${Date.now()}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    throw new AppError('io', `Cannot write in ${parent}: ${(err as Error).message}`, 'out');
  }
  let done = false;
  return {
    dir,
    target: out,
    commit() {
      if (done) return;
      fsyncTree(dir);
      if (fs.existsSync(out)) {
        if (fs.readdirSync(out).length === 0) {
          fs.rmdirSync(out);
          renameWithRetry(dir, out, 10);
        } else {
          const old = path.join(parent, `.${path.basename(out)}.old-${process.pid}-${Date.now()}`);
          renameWithRetry(out, old, 10);
          try {
            renameWithRetry(dir, out, 10);
          } catch (err) {
            renameWithRetry(old, out, 10);
            throw err;
          }
          try {
            removeDirSafely(old);
          } catch {
            // The new export is in place; a leftover hidden folder is only wasted space.
          }
        }
      } else {
        renameWithRetry(dir, out, 10);
      }
      fsyncPath(parent);
      done = true;
    },
    abort() {
      if (done) return;
      done = true;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs fill() in a staged folder and commits it; on any failure the temp folder is removed and the target left as it was. */
export async function writeFolder<T>(target: string, options: { overwrite?: boolean } & GuardedPaths, fill: (dir: string) => Promise<T> | T): Promise<{ target: string; result: T }> {
  const staged = stageFolder(target, options);
  try {
    const result = await fill(staged.dir);
    try {
      staged.commit();
    } catch (err) {
      throw new AppError('io', `Could not move the export into ${staged.target}: ${(err as Error).message}. Nothing there was changed.`, 'out');
    }
    return { target: staged.target, result };
  } catch (err) {
    staged.abort();
    throw err;
  }
}

/** The temp file a single-file export is written to before it is renamed over `file`. */
export function tempFileFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
}

/** Whether a file starts with the header of a predictions CSV this app writes. */
export function looksLikePredictionsCsv(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const header = buf.subarray(0, n).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
    const cells = header.split(',').map((c) => c.replace(/^"|"$/g, ''));
    return cells.includes('predicted_label') && cells.includes('confidence') && cells.some((c) => c.startsWith('prob_'));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Checks a single output file: not one of the inputs, not a folder, and not an existing file
 * other than an earlier export of the same kind (by default a predictions CSV) unless overwrite.
 */
export function checkOutputFile(
  file: string,
  options: { overwrite?: boolean; inputs?: readonly string[]; kind?: { name: string; example: string; isEarlier: (file: string) => boolean } } & Partial<GuardedPaths>,
): string {
  const kind = options.kind ?? { name: 'predictions', example: 'predictions.csv', isEarlier: looksLikePredictionsCsv };
  const out = path.resolve(file);
  for (const input of options.inputs ?? []) {
    if (path.resolve(input) === out) throw new AppError('invalid_input', `The output ${out} is the input file; choose another output file.`, 'out');
  }
  if (options.protect) checkProtected(out, { protect: options.protect });
  if (fs.existsSync(out)) {
    if (fs.statSync(out).isDirectory()) throw new AppError('invalid_input', `${out} is a folder; give a file name for the ${kind.name} (e.g. ${path.join(out, kind.example)}).`, 'out');
    if (!options.overwrite && !kind.isEarlier(out)) {
      throw new AppError('conflict', `${out} already exists and is not a ${kind.name} file; choose another name, or allow overwriting (--overwrite).`, 'out');
    }
  }
  try {
    fs.mkdirSync(path.dirname(out), { recursive: true });
  } catch (err) {
    throw new AppError('io', `Cannot create ${path.dirname(out)}: ${(err as Error).message}`, 'out');
  }
  return out;
}
