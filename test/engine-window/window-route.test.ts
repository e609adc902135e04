/** engine/window-route.ts: when the engine worker trains in the engine window, and what the run records. */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { activeKernels, BACKENDS, startBackend } from '../../src/main/engine/backends/start';
import type { EngineJob } from '../../src/main/engine/protocol';
import { EngineHost } from '../../src/main/engine/window-host';
import { DAWN_NOT_IN_ELECTRON, EngineWindowLink, engineWindowRoute, localBackendPlan, windowBackendInfo, type MessagePortMainLike } from '../../src/main/engine/window-route';

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

/** The jobs that run a model besides training: a prediction job, batch prediction, the try-it box. */
const modelJobs: EngineJob[] = [
  { kind: 'predict', modelDir: '/m', texts: ['a'] },
  { kind: 'predict-file', dataDir: '/d', runId: 'r', input: '/in.csv', out: '/out.csv' },
  { kind: 'serve', modelDir: '/m' },
];
const otherJobs: EngineJob[] = [
  { kind: 'benchmark', modelDir: '/m', labels: ['a', 'b'], rows: [], batchSize: 8, maxLength: 32, freezeEncoder: false, steps: 3 } as unknown as EngineJob,
  { kind: 'count-tokens', modelDir: '/m', texts: [] },
  { kind: 'baseline', dataDir: '/d', datasetId: 'x' },
  { kind: 'probe-webgpu' },
];

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
  });

  it('runs predictions, batch prediction and the try-it box in the window by the same rule as training', () => {
    for (const job of modelJobs) {
      expect(engineWindowRoute({ ...job, backend: 'webgpu' }, null, true), job.kind).toEqual({ allowSoftware: true });
      expect(engineWindowRoute(job, 'webgpu', true), job.kind).toEqual({ allowSoftware: true });
      expect(engineWindowRoute(job, null, true), job.kind).toEqual({ allowSoftware: false });
      expect(engineWindowRoute({ ...job, backend: 'cpu' }, null, true), job.kind).toBeNull();
      expect(engineWindowRoute(job, 'native', true), job.kind).toBeNull();
      expect(engineWindowRoute({ ...job, backend: 'webgpu' }, 'webgpu', false), job.kind).toBeNull();
    }
    // Jobs that run no model there: never.
    for (const job of otherJobs) expect(engineWindowRoute({ ...job, backend: 'webgpu' }, 'webgpu', true), job.kind).toBeNull();
  });
});

describe("localBackendPlan (a job on the worker's own backend)", () => {
  it('the CLI and web host (a forked Node process): unchanged, Dawn included', () => {
    for (const job of [trainJob(), ...modelJobs, ...otherJobs]) {
      expect(localBackendPlan(job, null, false), job.kind).toEqual({ preferred: null, skip: [] });
      expect(localBackendPlan({ ...job, backend: 'webgpu' }, null, false), job.kind).toEqual({ preferred: 'webgpu', skip: [] });
      expect(localBackendPlan(job, 'webgpu', false), job.kind).toEqual({ preferred: null, skip: [] });
    }
  });

  it("Electron's utility process: the automatic choice never tries Dawn; a backend named other than webgpu is kept", () => {
    for (const job of [trainJob(), ...modelJobs, ...otherJobs]) {
      expect(localBackendPlan(job, null, true), job.kind).toEqual({ preferred: null, skip: ['webgpu'] });
      expect(localBackendPlan({ ...job, backend: 'cpu' }, 'webgpu', true), job.kind).toEqual({ preferred: 'cpu', skip: ['webgpu'] });
      expect(localBackendPlan(job, 'native', true), job.kind).toEqual({ preferred: null, skip: ['webgpu'] });
    }
  });

  it("Electron's utility process: WebGPU named without a window port fails saying why and what to do", () => {
    expect(() => localBackendPlan({ ...modelJobs[0]!, backend: 'webgpu' }, null, true)).toThrow(
      /This job asks for the webgpu backend, and in the desktop app WebGPU runs only in the GPU engine window, which this job does not have: the engine window did not open for this job .*Restart the app and try again.*or choose another backend \(CPU\)/,
    );
    expect(() => localBackendPlan(trainJob(), 'webgpu', true)).toThrow(/FINETUNE_BACKEND=webgpu asks for the webgpu backend/);
    const benchmark = otherJobs.find((j) => j.kind === 'benchmark')!;
    expect(() => localBackendPlan(benchmark, 'webgpu', true)).toThrow(/a benchmark job does not use the engine window/);
  });
});

describe('startBackend with backends to skip (the automatic choice in Electron)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('never probes or starts a skipped backend, and says so in its report; a backend named is started all the same', async () => {
    vi.stubEnv('FINETUNE_BACKEND', '');
    const dawn = BACKENDS.find((b) => b.name === 'webgpu')!;
    const probe = vi.spyOn(dawn, 'probe');
    const start = vi.spyOn(dawn, 'start');
    // Everything above cpu skipped, so the test does not depend on what this machine has.
    const started = await startBackend(null, { skip: ['tensorflow-gpu', 'webgpu', 'tensorflow', 'native', 'wasm'], skipReason: DAWN_NOT_IN_ELECTRON });
    expect(started.info.name).toBe('cpu');
    expect(started.info.detail).toContain(`webgpu: ${DAWN_NOT_IN_ELECTRON}`);
    expect(probe).not.toHaveBeenCalled();
    expect(start).not.toHaveBeenCalled();
    // Without the skip the automatic choice asks Dawn (it is second in BACKENDS)...
    probe.mockReturnValue('stubbed: not here');
    await startBackend(null, { skip: ['tensorflow-gpu', 'tensorflow', 'native', 'wasm'] });
    expect(probe).toHaveBeenCalledTimes(1);
    // ...and a named backend is never skipped (worker.ts refuses a named webgpu itself).
    expect((await startBackend('cpu', { skip: ['cpu'] })).info.name).toBe('cpu');
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
    const gone = link.whenGone();
    expect(link.notice({ type: 'engine-window-gone', reason }, undefined)).toBe(true);
    expect(link.gone).toBe(reason);
    // The try-it box's worker waits on this, not on a call.
    expect(await gone).toBe(reason);
    expect(await link.whenGone()).toBe(reason);
    await expect(call).rejects.toThrow(reason);
    await expect(link.client().dispose()).rejects.toThrow(reason);
    port1.close();
  });

  it('the port closing fails the waiting call, saying the window closed it', async () => {
    const link = new EngineWindowLink();
    const { port1, port2 } = new MessageChannel();
    link.notice({ type: 'engine-port' }, [mainPort(port2)]);
    const call = link.client().params();
    const gone = link.whenGone();
    port1.close();
    await expect(call).rejects.toThrow(/closed its port/);
    expect(await gone).toMatch(/closed its port/);
    expect(link.gone).toBeNull();
  });
});
