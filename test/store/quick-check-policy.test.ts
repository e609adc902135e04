/**
 * When the start pays for PRAGMA quick_check (seconds on a database of a gigabyte: see
 * bench/db-start-bench.mjs). A small database is checked at every start. A big one is checked
 * fully unless the last process to use it closed it cleanly and nothing has changed the file
 * since (the marker finetune.db.clean holds its size and time as they were then); the cheap
 * checks (empty file, header, schema) run every time. Damage written after a clean close
 * changes the file, so it is still found.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/main/app';
import { databasePath } from '../../src/main/store/database';
import { CLEAN_CLOSE_FILE, openRunDatabase } from '../../src/main/store/recovery';
import { fakeLauncher } from '../helpers/fake-worker';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A data folder whose database holds a run with 3,000 steps (interior pages to damage), closed cleanly by an app. */
function cleanlyClosed(): string {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-qc-policy-'));
  dirs.push(dataDir);
  const app = createApp({ dataDir, host: 'cli', launcher: fakeLauncher().launcher, workerEntry: 'unused.js' });
  app.runs.create({ id: 'r1', name: 'one', config: {}, status: 'completed' });
  app.runs.addSteps('r1', Array.from({ length: 3000 }, (_, s) => ({ step: s + 1, epoch: 1, loss: 1, learningRate: 1e-3, samplesPerSecond: null })));
  app.close();
  return dataDir;
}

/** Opens as a start does, with every database counted as big (over the size always checked). */
function startBig(dataDir: string) {
  const opened = openRunDatabase(dataDir, { alwaysCheckBytes: 0 });
  opened.db.close();
  return opened;
}

describe('quick_check at start', () => {
  it('a clean close leaves a marker; a big database closed cleanly and unchanged is not quick_checked', () => {
    const dataDir = cleanlyClosed();
    expect(fs.existsSync(path.join(dataDir, CLEAN_CLOSE_FILE))).toBe(true);
    const opened = startBig(dataDir);
    expect(opened.check).toBe('cheap');
    expect(opened.notices).toEqual([]);
  });

  it('the marker is removed while the database is open: a process killed meanwhile leaves none, so the next start checks fully', () => {
    const dataDir = cleanlyClosed();
    const opened = openRunDatabase(dataDir, { alwaysCheckBytes: 0 });
    expect(fs.existsSync(path.join(dataDir, CLEAN_CLOSE_FILE))).toBe(false);
    opened.db.close(); // closed without the app's clean close: as after a kill
    expect(startBig(dataDir).check).toBe('full');
  });

  it('a small database is quick_checked at every start, marker or not', () => {
    const dataDir = cleanlyClosed();
    const opened = openRunDatabase(dataDir);
    opened.db.close();
    expect(opened.check).toBe('full');
  });

  it('pages damaged after a clean close change the file: found and rebuilt', () => {
    const dataDir = cleanlyClosed();
    const file = databasePath(dataDir);
    const bytes = fs.readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    for (let page = 2; page < Math.min(8, bytes.length / pageSize); page++) {
      const noise = crypto.createHash('sha512').update(String(page)).digest();
      for (let i = 0; i < pageSize; i++) bytes[page * pageSize + i] = noise[i % noise.length]! ^ (i & 0xff);
    }
    // Same size; the time is moved on so that even a coarse clock sees the change.
    fs.writeFileSync(file, bytes);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const opened = startBig(dataDir);
    expect(opened.check).toBe('full');
    expect(opened.notices.map((n) => n.kind)).toEqual(['database-rebuilt']);
  });

  it('header damage after a clean close is found by the cheap checks', () => {
    const dataDir = cleanlyClosed();
    const file = databasePath(dataDir);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('Not a database!!', 'latin1'), 0, 16, 0);
    fs.closeSync(fd);
    const st = fs.statSync(file);
    // Even with the marker's size and time put back, the header is read.
    const marker = JSON.parse(fs.readFileSync(path.join(dataDir, CLEAN_CLOSE_FILE), 'utf8')) as { mtimeMs: number };
    fs.utimesSync(file, st.atime, new Date(marker.mtimeMs));
    expect(startBig(dataDir).notices.map((n) => n.kind)).toEqual(['database-rebuilt']);
  });
});
