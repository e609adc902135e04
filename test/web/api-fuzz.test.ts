import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/main/app';
import { dispatch } from '../../src/main/dispatch';
import { API_METHODS } from '../../src/shared/schema';
import { Rng } from '../../src/main/engine/rng';

let dir: string;
let app: App;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-fuzz-'));
  app = createApp({ dataDir: dir, host: 'web' });
  app.runs.create({ id: 'keep', name: 'keep me', config: {} });
});
afterAll(() => {
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0: return null;
    case 1: return rng.int(2) === 0;
    case 2: return (rng.next() - 0.5) * 10 ** rng.int(12);
    case 3: return ['', 'keep', '../..', '\u0000', 'x'.repeat(rng.int(300)), '<script>', 'DROP TABLE runs'][rng.int(7)];
    case 4: return NaN;
    case 5: return undefined;
    case 6: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]));
    default: return '__proto__';
  }
}

describe('AppApi boundary fuzz', () => {
  it('random and malformed arguments to every method give a result or an AppError, never a crash or a changed database', async () => {
    const rng = new Rng(1234);
    const harmful = new Set(['deleteRun', 'renameRun']);
    for (let i = 0; i < 600; i++) {
      const method = API_METHODS[rng.int(API_METHODS.length)]!;
      const args = rng.int(5) === 0 ? randomValue(rng) : Array.from({ length: rng.int(4) }, () => randomValue(rng));
      if (harmful.has(method) && Array.isArray(args) && args[0] === 'keep') continue;
      const result = await dispatch(app.api, method, args);
      if (!result.ok) {
        expect(['invalid_input', 'not_found', 'conflict', 'unsupported', 'cancelled', 'io', 'network']).toContain(result.error.code);
        expect(result.error.message.length).toBeGreaterThan(5);
        expect(result.error.message).not.toMatch(/\n\s+at /);
      }
    }
    expect(app.runs.summary('keep')!.name).toBe('keep me');
    expect(app.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('unknown methods and prototype keys are refused', async () => {
    for (const m of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'close']) {
      const r = await dispatch(app.api, m, []);
      expect(r.ok).toBe(false);
    }
  });
});
