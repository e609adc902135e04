/**
 * The web client sends arguments as a JSON array, where an optional argument left out in the
 * middle (inspectDataset(file, undefined, taskId)) arrives as null: the schema takes it as absent.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/shared/schema';
import { AppError } from '../../src/shared/errors';

const json = (args: unknown[]) => JSON.parse(JSON.stringify(args)) as unknown[];

describe('arguments over JSON', () => {
  it('an optional argument left out before a task id is absent, not invalid', () => {
    expect(parseArgs('inspectDataset', json(['/data/a.csv', undefined, 'task-1']))).toEqual(['/data/a.csv', undefined, 'task-1']);
    expect(parseArgs('exportRun', json(['20260101-000000-abcdef', 'hf', undefined, 'task-2']))).toEqual(['20260101-000000-abcdef', 'hf', undefined, 'task-2']);
    expect(parseArgs('downloadModel', json(['bert-base-uncased', undefined, 'task-3']))).toEqual(['bert-base-uncased', undefined, 'task-3']);
  });
  it('null is still refused for a required argument', () => {
    expect(() => parseArgs('getRun', [null])).toThrow(AppError);
    expect(() => parseArgs('inspectDataset', [null, null, 'task-1'])).toThrow(/file/);
  });
});

/**
 * The browser transport keeps the API token out of the address bar and out of cookies: it takes
 * it from the page's meta tag (first load) or sessionStorage (reload), and removes ?token= with
 * history.replaceState. offerDownload asks the host for a one-time link and clicks it.
 */
import { afterEach, vi } from 'vitest';

function fakeBrowser(opts: { meta?: string; href: string; stored?: string }) {
  const storage = new Map<string, string>(opts.stored ? [['finetune-token', opts.stored]] : []);
  const clicks: { href: string; download: string }[] = [];
  const replaced: string[] = [];
  const body = { appendChild: vi.fn() };
  vi.stubGlobal('document', {
    querySelector: (sel: string) => (sel === 'meta[name="finetune-token"]' && opts.meta ? { content: opts.meta } : null),
    createElement: () => {
      const a = { href: '', download: '', rel: '', style: {} as Record<string, string>, click: () => clicks.push({ href: a.href, download: a.download }), remove: vi.fn() };
      return a;
    },
    body,
  });
  vi.stubGlobal('sessionStorage', { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v) });
  vi.stubGlobal('location', { href: opts.href });
  vi.stubGlobal('history', { state: { s: 1 }, replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) });
  return { storage, clicks, replaced };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('the web transport and the token', () => {
  it('takes the token from the page, keeps it in sessionStorage, removes ?token= from the address bar', async () => {
    const b = fakeBrowser({ meta: 'TOKEN-1', href: 'http://127.0.0.1:5000/?token=TOKEN-1#/runs' });
    const { takeWebToken } = await import('../../src/renderer/src/lib/api');
    expect(takeWebToken()).toBe('TOKEN-1');
    expect(b.storage.get('finetune-token')).toBe('TOKEN-1');
    expect(b.replaced.at(-1)).toBe('/#/runs');
  });

  it('after a reload (no meta, no ?token=) the token comes from sessionStorage and is sent as the header', async () => {
    const b = fakeBrowser({ href: 'http://127.0.0.1:5000/', stored: 'TOKEN-2' });
    const { createWebClient } = await import('../../src/renderer/src/lib/api');
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ ok: true, value: [] })));
    const client = createWebClient(fetchImpl as unknown as typeof fetch);
    await client.listRuns();
    expect(fetchImpl.mock.calls[0]![0]).toBe('/api/listRuns');
    expect((fetchImpl.mock.calls[0]![1]!.headers as Record<string, string>)['x-finetune-token']).toBe('TOKEN-2');
    expect(b.replaced).toEqual([]);
  });

  it('offerDownload asks the host for a link to the result and clicks it with the offered name', async () => {
    const b = fakeBrowser({ meta: 'T', href: 'http://127.0.0.1:5000/' });
    const mod = await import('../../src/renderer/src/lib/api');
    expect(mod.downloadsOffered).toBe(true);
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ ok: true, value: { url: '/download/abc/x.zip', filename: 'reviews-run-model.zip', bytes: 10 } })));
    const client = mod.createWebClient(fetchImpl as unknown as typeof fetch);
    const offer = await client.downloadResult({ format: 'hf', path: '/data/runs/r/exports/huggingface', files: [] });
    expect(fetchImpl.mock.calls[0]![0]).toBe('/api/download');
    expect(JSON.parse(String(fetchImpl.mock.calls[0]![1]!.body))).toEqual({ path: '/data/runs/r/exports/huggingface' });
    expect(offer.filename).toBe('reviews-run-model.zip');
    expect(b.clicks).toEqual([{ href: '/download/abc/x.zip', download: 'reviews-run-model.zip' }]);
  });

  it('a refused download is an AppError with the host code', async () => {
    fakeBrowser({ meta: 'T', href: 'http://127.0.0.1:5000/' });
    const mod = await import('../../src/renderer/src/lib/api');
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ ok: false, error: { code: 'not_found', message: 'no' } })));
    const client = mod.createWebClient(fetchImpl as unknown as typeof fetch);
    await expect(client.downloadResult({ format: 'predictions', path: '/etc/passwd', files: [] })).rejects.toMatchObject({ code: 'not_found' });
  });
});
