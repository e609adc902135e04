/** File helpers for things a user could lose: temp-then-rename, fsync, retried renames (Windows EPERM/EBUSY). */
import fs from 'node:fs';
import path from 'node:path';

const RETRY_CODES = new Set(['EPERM', 'EBUSY', 'EACCES', 'ENOTEMPTY']);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** fs.renameSync, retried briefly where Windows holds files open (antivirus, indexers). */
export function renameWithRetry(from: string, to: string, attempts = process.platform === 'win32' ? 10 : 1): void {
  for (let i = 0; ; i++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (i + 1 >= attempts || !RETRY_CODES.has(code)) throw err;
      sleepSync(50 * (i + 1));
    }
  }
}

export function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Directories cannot be opened for fsync on Windows; that is fine there.
    if (process.platform !== 'win32') throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes a file and fsyncs it (inside a temp folder that is renamed into place later). */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file whole or not at all: temp file in the same folder, fsync, rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSynced(tmp, data);
  try {
    renameWithRetry(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dir);
}

/** fsyncs every file under a folder, then the folder itself. */
export function fsyncTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else if (entry.isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}

/**
 * Removes a folder so that a failure cannot leave it half-deleted under its own name: it is
 * first renamed aside (atomic), then deleted. Returns false when it did not exist.
 */
export function removeDirSafely(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  const trash = path.join(path.dirname(dir), `.deleting-${path.basename(dir)}-${Date.now()}`);
  renameWithRetry(dir, trash, 10);
  fs.rmSync(trash, { recursive: true, force: true, maxRetries: 5 });
  return true;
}
