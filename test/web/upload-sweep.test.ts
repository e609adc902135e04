/** The web host deletes uploads older than a day when it starts (and hourly), keeping fresh ones (issue 12.6). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/main/app';
import { createWebHost, UPLOAD_MAX_AGE_MS } from '../../src/main/web';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-sweep-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('web host upload sweep', () => {
  it('removes uploads older than a day on start and keeps newer ones', async () => {
    const dataDir = path.join(dir, 'data');
    const uploads = path.join(dataDir, 'uploads');
    fs.mkdirSync(uploads, { recursive: true });
    const old = path.join(uploads, 'old.csv');
    const fresh = path.join(uploads, 'fresh.csv');
    fs.writeFileSync(old, 'a,b\n');
    fs.writeFileSync(fresh, 'a,b\n');
    const past = new Date(Date.now() - UPLOAD_MAX_AGE_MS - 3600_000);
    fs.utimesSync(old, past, past);
    const renderer = path.join(dir, 'renderer');
    fs.mkdirSync(renderer, { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>t</title>');
    const app = createApp({ dataDir, host: 'web' });
    const host = await createWebHost({ app, rendererDir: renderer });
    try {
      expect(fs.existsSync(old)).toBe(false);
      expect(fs.existsSync(fresh)).toBe(true);
    } finally {
      await host.close();
      app.close();
    }
  });
});
