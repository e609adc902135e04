/**
 * The engine window's page answering 'adapter' (systemInfo's GPU probe in Electron) in Debian's
 * Chromium, the built page handed a port as the preload would (page-bridge.ts). With the app's
 * software opt-in (SwiftShader) the answer is a fallback adapter: systemInfo calls it
 * software-only, a job with no backend named is NOT routed to the window, one that names webgpu
 * is. Without the WebGPU flags (Linux without --webgpu) the answer says there is no usable GPU
 * and systemInfo's note says how to turn WebGPU on. Electron itself cannot launch here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { adapterStatus, engineWindowWanted } from '../../src/main/engine-window-policy';
import { webGpuNote } from '../../src/main/features/gpu-probe';
import { useHeavyTimeouts } from '../engine/timeouts';
import { openEnginePage, type EnginePage } from './page-bridge';

useHeavyTimeouts();

const pages: EnginePage[] = [];
afterAll(async () => {
  for (const p of pages) await p.close();
});

describe("the engine window page answers 'adapter' in Chromium", () => {
  it('with SwiftShader (the software opt-in): a fallback adapter, so a job with no backend stays off the window and a webgpu one goes to it', async (ctx) => {
    const page = await openEnginePage();
    pages.push(page);
    const answer = await page.client.adapter();
    console.log(`[adapter, SwiftShader flags] ${JSON.stringify(answer)}`);
    if (page.noAdapter) {
      ctx.skip(page.noAdapter);
      return;
    }
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.isFallbackAdapter).toBe(true);
    const status = adapterStatus(answer, { platform: 'linux', webGpuOn: true });
    expect(status.state).toBe('software-only');
    expect(webGpuNote(status)).toMatch(/only a software adapter/);
    expect(engineWindowWanted({ kind: 'train' }, { forced: null, gpu: status, localBackend: 'native' })).toBe(false);
    expect(engineWindowWanted({ kind: 'train', backend: 'webgpu' }, { forced: null, gpu: status, localBackend: 'native' })).toBe(true);
    expect(engineWindowWanted({ kind: 'train' }, { forced: 'webgpu', gpu: status, localBackend: 'native' })).toBe(true);
    // The query opened no device and started no backend: the page still greets and has no model.
    expect((await page.client.ready()).webgpu).toBe(true);
    await expect(page.client.params()).rejects.toThrow(/send 'init' first/);
    expect(page.pageErrors).toEqual([]);
  });

  it('without the WebGPU flags (Linux without --webgpu): no GPU for training; the note says how to turn it on', async () => {
    const page = await openEnginePage(5 * 60_000, []);
    pages.push(page);
    const answer = await page.client.adapter();
    console.log(`[adapter, no flags] ${JSON.stringify(answer)}`);
    const status = adapterStatus(answer, { platform: 'linux', webGpuOn: false });
    // No GPU on this machine: whatever this Chromium offers without flags is not a real adapter.
    expect(status.state === 'no-adapter' || status.state === 'software-only').toBe(true);
    if (!answer.ok && answer.why !== 'failed') expect(webGpuNote(status)).toContain('npm start -- --webgpu');
    expect(engineWindowWanted({ kind: 'train' }, { forced: null, gpu: status, localBackend: 'native' })).toBe(false);
  });
});
