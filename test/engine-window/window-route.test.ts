/** engine/window-route.ts: when the engine worker trains in the engine window, and what the run records. */
import { describe, expect, it } from 'vitest';
import type { EngineJob } from '../../src/main/engine/protocol';
import { engineWindowRoute, windowBackendInfo } from '../../src/main/engine/window-route';

const trainJob = (backend?: 'webgpu' | 'cpu'): EngineJob =>
  ({ kind: 'train', runId: 'r', runDir: '/tmp/r', resume: false, dataset: { dataDir: '/tmp', id: 'x' }, config: {} as never, ...(backend ? { backend } : {}) }) as EngineJob;

describe('engineWindowRoute', () => {
  it('trains in the window only with a port from main, for a training job that wants WebGPU', () => {
    expect(engineWindowRoute(trainJob('webgpu'), null, true)).toEqual({ allowSoftware: true });
    expect(engineWindowRoute(trainJob(), 'webgpu', true)).toEqual({ allowSoftware: true });
    // No backend named: main sent a port only because WebGPU is wanted; no software adapter then.
    expect(engineWindowRoute(trainJob(), null, true)).toEqual({ allowSoftware: false });
    expect(engineWindowRoute(trainJob('cpu'), 'webgpu', true)).toBeNull();
    expect(engineWindowRoute(trainJob(), 'native', true)).toBeNull();
    // The CLI and web host: never a port.
    expect(engineWindowRoute(trainJob('webgpu'), 'webgpu', false)).toBeNull();
    expect(engineWindowRoute({ kind: 'predict', modelDir: '/m', texts: [], backend: 'webgpu' }, 'webgpu', true)).toBeNull();
  });
});

describe('windowBackendInfo', () => {
  it("records the window's backend and adapter", () => {
    const info = windowBackendInfo({ backend: 'webgpu', device: 'NVIDIA RTX 4090 via WebGPU (Chromium)', loaded: 1, initialised: [], reinitialised: [] });
    expect(info.name).toBe('webgpu');
    expect(info.label).toBe('GPU (WebGPU): NVIDIA RTX 4090 via WebGPU (Chromium)');
    expect(info.detail).toMatch(/^NVIDIA RTX 4090 via WebGPU \(Chromium\); in the engine window/);
    expect(windowBackendInfo({ backend: 'cpu', device: 'cpu', loaded: 1, initialised: [], reinitialised: [] }).name).toBe('cpu');
  });
});
