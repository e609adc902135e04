#!/usr/bin/env node
/**
 * What opening a big run database costs at start: a data folder whose finetune.db holds N runs
 * (each with a realistic settings JSON, 3 evaluations and 4 artifacts) and M step rows, made
 * once and kept under --dir (default: the OS temp folder). For each size it times:
 *   - PRAGMA quick_check over the whole file (what every start paid before this bench),
 *   - the start's damage check (store/recovery.ts checkDatabase) with quick_check (a small file,
 *     or the last close was not clean) and after a clean close left a big file unchanged,
 *   - createApp() as a whole (damage check, migrations, recovery, temp-file sweep), after a crash
 *     and after a clean close.
 * Sizes: --sizes 10000x1000000,100000x10000000 (runs x step rows). The page cache is warm (the
 * file was just written or read); a cold disk is slower.
 *
 *   node bench/db-start-bench.mjs [--json] [--sizes RxS,...] [--dir DIR] [--repeat 3]
 *
 * Figures, not a test: a busy machine makes the times noisy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { runnerImport } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const json = argv.includes('--json');
const log = json ? () => {} : (...x) => console.log(...x);
const sizes = opt('sizes', '10000x1000000,100000x10000000')
  .split(',')
  .map((s) => s.split('x').map(Number));
const baseDir = opt('dir', path.join(os.tmpdir(), 'ft-db-bench'));
const repeat = Number(opt('repeat', 3));

const load = async (file) => (await runnerImport(path.join(root, file), { configFile: false, logLevel: 'error' })).module;
const { openDatabase, databasePath } = await load('src/main/store/database.ts');
const recovery = await load('src/main/store/recovery.ts');
const { createApp } = await load('src/main/app.ts');

const CONFIG = JSON.stringify({
  name: 'bench run',
  model: { source: 'prajjwal1/bert-mini', path: '/home/user/.cache/finetune/models/prajjwal1--bert-mini' },
  labels: ['World', 'Sports', 'Business', 'Sci/Tech'],
  dataset: { fingerprint: 'f'.repeat(64), name: 'ag news', trainCount: 96000, evalCount: 24000, path: '/home/user/.finetune/datasets/' + 'f'.repeat(64) },
  options: { epochs: 3, batchSize: 16, learningRate: 5e-5, maxLength: 128, evalBatchSize: 64, warmupRatio: 0.06, weightDecay: 0.01, seed: 42, bestMetric: 'accuracy', earlyStopping: null, gradientClip: 1, scheduler: 'linear', evalEvery: 'epoch' },
});

/** A data folder with `runs` runs and `steps` step rows (spread evenly), made with SQL so it takes seconds, not minutes. */
function makeDataDir(runs, steps) {
  const dir = path.join(baseDir, `${runs}x${steps}`);
  const file = databasePath(dir);
  if (fs.existsSync(path.join(dir, 'done'))) return { dir, made: false };
  fs.rmSync(dir, { recursive: true, force: true });
  const db = openDatabase(file);
  const perRun = Math.max(1, Math.round(steps / runs));
  const t0 = performance.now();
  db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;');
  db.transaction(() => {
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
       INSERT INTO runs (id, name, created_at, started_at, finished_at, status, config, model_id, dataset_fingerprint, dataset_name, backend, best_metric, best_metric_name, best_accuracy)
       SELECT printf('20260101-000000-%08d', i), 'run ' || i, 1767225600000 + i, 1767225600000 + i, 1767225700000 + i, 'completed', ?, 'prajjwal1/bert-mini', ?, 'ag news', 'native', 0.9, 'accuracy', 0.9 FROM n`,
    ).run(runs, CONFIG, 'f'.repeat(64));
    db.prepare(
      `WITH RECURSIVE s(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM s WHERE j < ?)
       INSERT INTO step_metrics (run_id, stage, step, epoch, loss, learning_rate, samples_per_second)
       SELECT r.id, 'finetune', s.j, s.j * 1.0 / ?, 1.0 / s.j + (abs(random()) % 1000) / 1e6, 5e-5, 40.5 FROM runs r, s ORDER BY r.id, s.j`,
    ).run(perRun, perRun);
    const perClass = JSON.stringify(['World', 'Sports', 'Business', 'Sci/Tech'].map((label) => ({ label, precision: 0.9, recall: 0.9, f1: 0.9, support: 6000 })));
    const confusion = JSON.stringify([[5400, 200, 200, 200], [200, 5400, 200, 200], [200, 200, 5400, 200], [200, 200, 200, 5400]]);
    db.prepare(
      `WITH RECURSIVE e(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM e WHERE k < 3)
       INSERT INTO epoch_metrics (run_id, step, epoch, eval_loss, accuracy, macro_f1, per_class, confusion)
       SELECT r.id, e.k * ?, e.k, 0.3, 0.9, 0.9, ?, ? FROM runs r, e`,
    ).run(Math.max(1, Math.floor(perRun / 3)), perClass, confusion);
    for (const kind of ['checkpoint', 'model', 'predictions', 'log']) {
      db.prepare(`INSERT INTO artifacts (run_id, kind, path, created_at) SELECT id, ?, '/home/user/.finetune/runs/' || id || '/' || ?, created_at FROM runs`).run(kind, kind);
    }
  })();
  db.exec('PRAGMA journal_mode = WAL;');
  db.close();
  fs.writeFileSync(path.join(dir, 'done'), '');
  return { dir, made: true, seconds: (performance.now() - t0) / 1000 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn, setup = () => {}) {
  const xs = [];
  let value;
  for (let i = 0; i < repeat; i++) {
    setup();
    const t = performance.now();
    value = fn();
    xs.push((performance.now() - t) / 1000);
  }
  return { seconds: median(xs), value };
}

fs.mkdirSync(baseDir, { recursive: true });
const results = [];
for (const [runs, steps] of sizes) {
  const made = makeDataDir(runs, steps);
  const file = databasePath(made.dir);
  const bytes = fs.statSync(file).size;
  // Read the whole file once so every timing below starts from a warm page cache.
  fs.readFileSync(file);
  const quickCheck = timeIt(() => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('quick_check', { simple: true });
    } finally {
      db.close();
    }
  });
  // createApp after a crash (no clean-close marker), then after a clean close (its own close wrote one).
  const startApp = () => {
    const app = createApp({ dataDir: made.dir, host: 'cli' });
    const notices = app.startupNotices.length;
    app.close();
    return notices;
  };
  // The start's damage check when quick_check runs (a small file, or the last close was not clean)...
  const damageCheck = timeIt(() => {
    fs.rmSync(path.join(made.dir, recovery.CLEAN_CLOSE_FILE), { force: true });
    return recovery.checkDatabase(file, made.dir).damage;
  });
  // ...and after an app's clean close left the file unchanged (a big file: only the cheap checks).
  const cheapCheck = timeIt(() => recovery.checkDatabase(file, made.dir), () => startApp());
  const start = timeIt(() => {
    fs.rmSync(path.join(made.dir, recovery.CLEAN_CLOSE_FILE), { force: true });
    return startApp();
  });
  startApp();
  const startClean = timeIt(startApp);
  const r = {
    runs,
    steps,
    megabytes: +(bytes / 2 ** 20).toFixed(1),
    madeSeconds: made.made ? +made.seconds.toFixed(1) : null,
    quickCheckSeconds: +quickCheck.seconds.toFixed(3),
    quickCheck: quickCheck.value,
    damageCheckSeconds: +damageCheck.seconds.toFixed(3),
    damage: damageCheck.value,
    cleanCloseCheckSeconds: +cheapCheck.seconds.toFixed(3),
    cleanCloseCheck: cheapCheck.value.check,
    createAppAfterCrashSeconds: +start.seconds.toFixed(3),
    createAppAfterCleanCloseSeconds: +startClean.seconds.toFixed(3),
  };
  results.push(r);
  log(
    `${String(runs).padStart(7)} runs ${String(steps).padStart(9)} steps ${String(r.megabytes).padStart(8)} MB  ` +
      `quick_check ${r.quickCheckSeconds.toFixed(3)} s (${r.quickCheck})  damage check: full ${r.damageCheckSeconds.toFixed(3)} s, after a clean close ${r.cleanCloseCheckSeconds.toFixed(3)} s (${r.cleanCloseCheck})  ` +
      `createApp: after a crash ${r.createAppAfterCrashSeconds.toFixed(3)} s, after a clean close ${r.createAppAfterCleanCloseSeconds.toFixed(3)} s` +
      (r.madeSeconds !== null ? `  (made in ${r.madeSeconds} s)` : ''),
  );
}
console.log(JSON.stringify({ bench: 'db-start', repeat, results }));
