/**
 * Shared by the safety campaign's parts: the built processes (the `finetune` CLI, the web host
 * `out/main/serve.js`), HTTP calls with full control of the headers, the run database read
 * directly (integrity_check, step losses), and process lookups (/proc).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/finetune.js');
export const SERVE = path.join(ROOT, 'out/main/serve.js');
export const SHARED = path.resolve(ROOT, '../shared');
export const AG_NEWS = path.join(SHARED, 'datasets/ag_news');
export const BERT_FIXTURE = path.join(SHARED, 'reference/fixtures/bert');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The environment of a child: its own data folder; no inherited FINETUNE_* choices. */
export function childEnv(home, extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('FINETUNE_')) delete env[k];
  return { ...env, FINETUNE_HOME: home, ...extra };
}

/** Runs `finetune <args>` to its end: exit code, stdout, stderr. */
export function runCli(args, env, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts `finetune <args>` and hands each JSON line of its stdout to onEvent(event, child). */
export function followCli(args, env, onEvent) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let buffer = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (!line.startsWith('{')) continue;
      try {
        onEvent(JSON.parse(line), child);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}

/** Pids whose parent is `pid` (from /proc). */
export function childPids(pid) {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** PRAGMA integrity_check of the data folder's database (read-only). */
export function integrity(home) {
  const db = new Database(path.join(home, 'finetune.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
}

/** The run's fine-tuning step losses, in step order, as the database recorded them. */
export function stepLosses(home, runId) {
  const db = new Database(path.join(home, 'finetune.db'), { readonly: true });
  try {
    return db.prepare("SELECT step, loss FROM step_metrics WHERE run_id = ? AND stage = 'finetune' ORDER BY step").all(runId);
  } finally {
    db.close();
  }
}

export function runStatus(home, runId) {
  const db = new Database(path.join(home, 'finetune.db'), { readonly: true });
  try {
    return db.prepare('SELECT status, error, backend, owner_pid FROM runs WHERE id = ?').get(runId);
  } finally {
    db.close();
  }
}

/** The newest complete checkpoint's step (checkpoints/checkpoint-<n> with trainer_state.json), or 0. */
export function newestCheckpointStep(runDir) {
  let best = 0;
  try {
    for (const name of fs.readdirSync(path.join(runDir, 'checkpoints'))) {
      const m = /^checkpoint-(\d+)$/.exec(name);
      if (m && fs.existsSync(path.join(runDir, 'checkpoints', name, 'trainer_state.json'))) best = Math.max(best, Number(m[1]));
    }
  } catch {
    // none yet
  }
  return best;
}

/** Starts the web host on its own data folder; resolves once it prints its URL. */
export async function startServe(home, { timeoutMs = 120_000 } = {}) {
  const child = spawn(process.execPath, [SERVE, '--port', '0'], { env: childEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the web host did not start in ${timeoutMs / 1000} s: ${err}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`the web host exited (${code}): ${err}`)));
  });
  const u = new URL(url);
  return {
    child,
    url,
    port: Number(u.port),
    token: u.searchParams.get('token'),
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One HTTP request with exactly the headers given (Host included): status, headers, body text,
 * seconds, or timedOut when no answer came within timeoutMs.
 */
export function request(port, { method = 'POST', path: p = '/', headers = {}, body, timeoutMs = 10_000, keepAlive = true } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: keepAlive ? agent : false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), seconds: (performance.now() - started) / 1000 });
      });
      res.on('error', () => {});
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ status: 0, timedOut: true, body: '', seconds: (performance.now() - started) / 1000 });
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: 0, error: e.code ?? e.message, body: '', seconds: (performance.now() - started) / 1000 });
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** An API call as the page makes it: JSON arguments, the token header. Resolves to the CallResult (or the transport failure). */
export async function api(server, method, args = [], { timeoutMs = 10_000, keepAlive = true } = {}) {
  const r = await request(server.port, {
    keepAlive,
    path: `/api/${method}`,
    headers: { 'x-finetune-token': server.token, 'content-type': 'application/json' },
    body: JSON.stringify(args),
    timeoutMs,
  });
  if (r.timedOut || r.status === 0) return { transport: r };
  try {
    return { ...JSON.parse(r.body), status: r.status, seconds: r.seconds };
  } catch {
    return { transport: r };
  }
}

/** A stack trace in an answer: "at fn (file:line)" frames or node:internal paths. */
export function hasStackTrace(text) {
  return /\n\s+at [^\n]+[(:]\d+/.test(text) || /node:internal\//.test(text) || /\bat (?:async )?\S+ \(\/[^)]+:\d+:\d+\)/.test(text);
}

export function percentile(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
