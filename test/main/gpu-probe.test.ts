/**
 * systemInfo's GPU answer (issue 13.1): an engine worker asks the driver for a WebGPU adapter in
 * the background; a real GPU becomes the backend systemInfo names, with the adapter's name; a
 * software adapter, none, or a forced backend leave the CPU choice and say why.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backendWithWebGpu, webGpuNote } from '../../src/main/features/gpu-probe';
import { backendInfo } from '../../src/main/engine/backend';
import type { SystemInfo } from '../../src/shared/types';
import { testApp, type TestApp } from '../helpers/app';

const apps: TestApp[] = [];
afterAll(() => apps.forEach((a) => a.cleanup()));

describe('the backend systemInfo names', () => {
  const native = backendInfo('native', "the app's native CPU kernels are built");
  it('a GPU found through WebGPU wins over the CPU backends, named for people', () => {
    const b = backendWithWebGpu(native, { state: 'found', label: 'NVIDIA H200 via Vulkan' });
    expect(b.name).toBe('webgpu');
    expect(b.label).toBe('GPU (WebGPU): NVIDIA H200 via Vulkan');
    expect(b.detail).toContain('CPU (native kernels)');
  });
  it('not over tfjs-node-gpu or a forced backend; software adapters and none change nothing', () => {
    const gpuTf = backendInfo('tensorflow-gpu', 'installed');
    expect(backendWithWebGpu(gpuTf, { state: 'found', label: 'x' })).toBe(gpuTf);
    const forced = backendInfo('cpu', 'forced by FINETUNE_BACKEND=cpu');
    expect(backendWithWebGpu(forced, { state: 'found', label: 'x' })).toBe(forced);
    expect(backendWithWebGpu(native, { state: 'software-only', label: 'llvmpipe' })).toBe(native);
    expect(webGpuNote({ state: 'software-only', label: 'llvmpipe (LLVM 15)' })).toMatch(/only a software adapter \(llvmpipe \(LLVM 15\)\)/);
    expect(webGpuNote({ state: 'no-adapter', reason: 'vulkan: no adapter' })).toMatch(/no GPU found through WebGPU/);
  });
});

describe('the query through the built engine worker', () => {
  // The host's own FINETUNE_BACKEND decides (the trainer's workers inherit it).
  beforeEach(() => {
    vi.stubEnv('FINETUNE_BACKEND', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('answers probing first, then what the driver said; the backend follows it', async () => {
    const t = testApp({ host: 'web' });
    apps.push(t);
    let info: SystemInfo = await t.app.api.systemInfo();
    const first = info.webgpu.state;
    expect(['probing', 'no-package']).toContain(first);
    // No time limit of its own: the worker answers when it has asked the driver.
    while (info.webgpu.state === 'probing') {
      await new Promise((r) => setTimeout(r, 200));
      info = await t.app.api.systemInfo();
    }
    console.log(`WebGPU on this machine: ${JSON.stringify(info.webgpu)}; backend: ${info.backend.label} (${info.backend.detail})`);
    expect(['found', 'software-only', 'no-adapter', 'no-package']).toContain(info.webgpu.state);
    if (info.webgpu.state === 'found') {
      expect(info.backend.name).toBe('webgpu');
      expect(info.backend.label).toContain(info.webgpu.label);
    } else {
      expect(info.backend.name).not.toBe('webgpu');
      if (info.webgpu.state !== 'no-package') expect(info.backend.detail).toMatch(/WebGPU/);
    }
    // Asked once: later calls start no worker.
    const spawned = t.workers.length;
    await t.app.api.systemInfo();
    expect(t.workers.length).toBe(spawned);
    expect(spawned).toBeLessThanOrEqual(1);
  });

  it('a forced backend is not second-guessed: nothing is asked', async () => {
    process.env.FINETUNE_BACKEND = 'cpu';
    const t = testApp({ host: 'web' });
    apps.push(t);
    const info = await t.app.api.systemInfo();
    expect(info.webgpu).toEqual({ state: 'not-asked', reason: 'FINETUNE_BACKEND=cpu chooses the backend' });
    expect(t.workers).toHaveLength(0);
  });
});
