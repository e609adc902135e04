/** engine/window-route.ts: when the engine worker trains in the engine window, and what the run records. */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import type { EngineJob } from '../../src/main/engine/protocol';
import { EngineHost } from '../../src/main/engine/window-host';
import { EngineWindowLink, engineWindowRoute, windowBackendInfo, type MessagePortMainLike } from '../../src/main/engine/window-route';

/** A worker_threads port dressed as Electron's MessagePortMain (its 'message' events carry { data }). */
function mainPort(p: MessagePort): MessagePortMainLike {
  const handlers = new Map<unknown, (data: unknown) => void>();
  const port = {
    postMessage: (m: unknown) => p.postMessage(m),
    on(event: 'message' | 'close', listener: ((e: { data: unknown }) => void) | (() => void)) {
      if (event === 'close') p.on('close', listener as () => void);
      else {
        const h = (data: unknown): void => (listener as (e: { data: unknown }) => void)({ data });
        handlers.set(listener, h);
        p.on('message', h);
      }
    },
    off(_event: 'message', listener: (e: { data: unknown }) => void) {
      p.off('message', handlers.get(listener)!);
    },
    start: () => p.start(),
  };
  return port as MessagePortMainLike;
}

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

describe("EngineWindowLink (the worker's side of main's notices)", () => {
  it('takes the port from engine-port, talks to the window on it, and leaves other messages alone', async () => {
    const link = new EngineWindowLink();
    expect(link.hasPort).toBe(false);
    expect(() => link.client()).toThrow(/has not sent its port/);
    expect(link.notice({ type: 'start', job: {} }, [])).toBe(false);
    expect(link.notice('x', undefined)).toBe(false);
    const { port1, port2 } = new MessageChannel();
    new EngineHost({ postMessage: (m, t) => port1.postMessage(m, t), onMessage: (l) => void port1.on('message', l) }, async () => activeKernels(), false);
    expect(link.notice({ type: 'engine-port' }, [mainPort(port2)])).toBe(true);
    expect(link.hasPort).toBe(true);
    const client = link.client();
    expect(link.client()).toBe(client);
    expect((await client.ready({ timeoutMs: 10_000 })).webgpu).toBe(false);
    await expect(client.params()).rejects.toThrow(/send 'init' first/);
    client.close('test finished');
    port1.close();
  });

  it("engine-window-gone fails the waiting call with main's reason, and every later one", async () => {
    const link = new EngineWindowLink();
    const { port1, port2 } = new MessageChannel(); // nobody answers on port1
    link.notice({ type: 'engine-port' }, [mainPort(port2)]);
    const call = link.client().params();
    const reason = 'The GPU engine window ran out of memory (exit code 9). Try a smaller batch size or maximum length, or train on the CPU.';
    expect(link.notice({ type: 'engine-window-gone', reason }, undefined)).toBe(true);
    expect(link.gone).toBe(reason);
    await expect(call).rejects.toThrow(reason);
    await expect(link.client().dispose()).rejects.toThrow(reason);
    port1.close();
  });

  it('the port closing fails the waiting call, saying the window closed it', async () => {
    const link = new EngineWindowLink();
    const { port1, port2 } = new MessageChannel();
    link.notice({ type: 'engine-port' }, [mainPort(port2)]);
    const call = link.client().params();
    port1.close();
    await expect(call).rejects.toThrow(/closed its port/);
  });
});
