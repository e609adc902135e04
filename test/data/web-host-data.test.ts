/**
 * The built web host (`node out/main/serve.js`, a process of its own) inspects and prepares a
 * file through HTTP, with the data work in its worker threads (out/main/data-worker.js, found
 * beside the built bundle), while listRuns keeps being answered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetInspection, PreparedDataset } from '../../src/shared/dataset';
import { agNewsSample, REPO_DIR, requireBuild } from '../helpers/app';

const TIMEOUT = 240_000;
let dir: string;
let host: ChildProcess;
let base: string;
let token: string;

function call<T>(method: string, ...params: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(params);
    const req = http.request(
      `${base}/api/${method}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-finetune-token': token } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const body = JSON.parse(text) as { ok: boolean; value?: T; error?: { code: string; message: string } };
          if (body.ok) resolve(body.value as T);
          else reject(Object.assign(new Error(body.error!.message), { code: body.error!.code }));
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-webdata-'));
  host = spawn(process.execPath, [path.join(REPO_DIR, 'out/main/serve.js'), '--port', '0'], {
    env: { ...process.env, FINETUNE_HOME: path.join(dir, 'home'), FINETUNE_BACKEND: 'cpu' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<URL>((resolve, reject) => {
    let text = '';
    host.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(text);
      if (m) resolve(new URL(m[1]!));
    });
    host.once('exit', (code) => reject(new Error(`the web host exited (${code}) before serving`)));
  });
  token = url.searchParams.get('token')!;
  base = `${url.protocol}//${url.host}`;
}, 60_000);

afterAll(async () => {
  if (host && host.exitCode === null) {
    const exited = new Promise((r) => host.once('exit', r));
    host.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (host.exitCode === null) host.kill('SIGKILL');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('web host: data work off the main thread', () => {
  it('inspects and prepares a file through HTTP while listRuns is answered', { timeout: TIMEOUT }, async () => {
    // About 5 MB of AG News rows, numbered so none is a duplicate.
    const lines = fs.readFileSync(agNewsSample(dir, 500), 'utf8').trim().split('\n');
    const out: string[] = [];
    for (let i = 0; out.length < 20_000; i++) out.push(lines[i % lines.length]!.replace(/"$/, ` (#${i})"`));
    const file = path.join(dir, 'news.csv');
    fs.writeFileSync(file, out.join('\n') + '\n');

    let working = true;
    let answeredDuring = 0;
    const poller = (async () => {
      while (working) {
        const runs = await call<unknown[]>('listRuns');
        expect(Array.isArray(runs)).toBe(true);
        if (working) answeredDuring++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let inspection: DatasetInspection;
    let prepared: PreparedDataset;
    try {
      inspection = await call<DatasetInspection>('inspectDataset', file);
      prepared = await call<PreparedDataset>('prepareDataset', {
        file,
        mapping: inspection.suggestedMapping ?? { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0 },
        split: { kind: 'ratio', evalRatio: 0.1, seed: 1 },
      });
    } finally {
      working = false;
      await poller;
    }
    expect(inspection.rowCount).toBe(20_000);
    expect(prepared.trainCount + prepared.evalCount).toBe(20_000);
    expect(answeredDuring).toBeGreaterThan(0);
    const datasets = path.join(dir, 'home', 'datasets');
    expect(fs.existsSync(path.join(datasets, prepared.id, 'train.jsonl'))).toBe(true);
    expect(fs.readdirSync(datasets).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // An error in the thread reaches the page with its code.
    await expect(call('inspectDataset', path.join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'not_found' });
  });
});
