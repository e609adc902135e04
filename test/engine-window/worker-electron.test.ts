/**
 * The built engine worker (out/main/trainer.js) as Electron's utility process would run it: a
 * forked Node process given a process.parentPort (fake-utility-process.mjs; Electron cannot
 * launch here), with the engine window's port bridged to a real EngineHost in this process. The
 * worker's own wiring is what is tested:
 *   - a prediction job with the window's port runs its forward there (the window's backend
 *     reported; predictions equal to the local Predictor's on cpu, bit for bit);
 *   - without a port, the automatic backend choice never tries Dawn's WebGPU in the process, and a
 *     job that names webgpu fails saying what to do;
 *   - the try-it box's worker answers requests through the window and ends, failing with the
 *     reason, when main says the window is gone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { Predictor } from '../../src/main/engine/inference';
import type { ParentMessage, WorkerMessage } from '../../src/main/engine/protocol';
import { EngineHost } from '../../src/main/engine/window-host';
import type { EngineRequest } from '../../src/main/engine/window-protocol';
import { DAWN_NOT_IN_ELECTRON } from '../../src/main/engine/window-route';
import { requireBuild, WORKER_ENTRY } from '../helpers/app';
import { agNewsRows } from '../helpers/agnews';
import { setTestBackend } from '../helpers/engine';
import { fixtureDir } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';

useHeavyTimeouts();

const MODEL = fixtureDir('bert');
const texts = agNewsRows('test.csv', 12).map((r) => r.text);

beforeAll(async () => {
  requireBuild();
  await setTestBackend('cpu');
});

interface UtilityWorker {
  child: ChildProcess;
  messages: WorkerMessage[];
  /** Requests the worker sent to the engine window. */
  requests: EngineRequest[];
  send(message: ParentMessage): void;
  /** Hands the worker a port to an EngineHost in this process (on this process's cpu backend). */
  connectWindow(): void;
  /** Resolves with the first message of this type (or rejects when the worker exits first, or none came within hangMs: a hang guard, not a speed check). */
  next<T extends WorkerMessage['type']>(type: T, hangMs?: number): Promise<Extract<WorkerMessage, { type: T }>>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
});

function utilityWorker(): UtilityWorker {
  const env = { ...process.env };
  delete env.FINETUNE_BACKEND;
  const child = fork(WORKER_ENTRY, [], { execArgv: ['--import', pathToFileURL(path.join(__dirname, 'fake-utility-process.mjs')).href], env, serialization: 'advanced', stdio: 'inherit' });
  children.push(child);
  const messages: WorkerMessage[] = [];
  const requests: EngineRequest[] = [];
  const waiters: (() => void)[] = [];
  let hostListener: ((data: unknown) => void) | null = null;
  child.on('message', (m: { kind: string; data: unknown }) => {
    if (m.kind === 'worker') {
      messages.push(m.data as WorkerMessage);
      for (const w of waiters.splice(0)) w();
    } else if (m.kind === 'engine') {
      requests.push(m.data as EngineRequest);
      hostListener?.(m.data);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    messages,
    requests,
    exited,
    send: (message) => child.send({ kind: 'parent', data: message }),
    connectWindow() {
      new EngineHost(
        {
          postMessage: (message) => {
            if (child.connected) child.send({ kind: 'engine', data: message });
          },
          onMessage: (listener) => (hostListener = listener),
        },
        async () => activeKernels(),
        false,
      );
      child.send({ kind: 'engine-port' });
    },
    next(type, hangMs) {
      return new Promise((resolve, reject) => {
        const timer = hangMs === undefined ? null : setTimeout(() => reject(new Error(`no '${type}' from the worker within ${hangMs / 1000} s: ${JSON.stringify(messages.map((x) => x.type))}`)), hangMs);
        void exited.finally(() => timer && clearTimeout(timer));
        const look = (): void => {
          const m = messages.find((x) => x.type === type);
          if (m) {
            if (timer) clearTimeout(timer);
            resolve(m as never);
          }
          else waiters.push(look);
        };
        look();
        void exited.then((code) => {
          if (!messages.some((x) => x.type === type)) reject(new Error(`the worker exited (${code}) before '${type}': ${JSON.stringify(messages.map((x) => x.type))}`));
        });
      });
    },
  };
}

describe("the engine worker in Electron's utility process (imitated)", () => {
  it("a prediction job with the window's port predicts there: the window's backend reported, the local predictions bit for bit", async () => {
    const local = await Predictor.load(MODEL);
    const expected = await local.predict(texts, { maxLength: 32 });
    await local.dispose();

    const w = utilityWorker();
    await w.next('ready');
    w.connectWindow();
    w.send({ type: 'start', job: { kind: 'predict', modelDir: MODEL, texts, maxLength: 32 } });
    const { predictions } = await w.next('predictions');
    expect(await w.exited).toBe(0);
    const backends = w.messages.filter((m) => m.type === 'backend');
    expect(backends.length).toBe(1);
    expect(backends[0]!.backend.name).toBe('cpu');
    expect(backends[0]!.backend.detail).toMatch(/in the engine window/);
    expect(predictions).toEqual(expected);
    expect(w.requests.map((r) => r.type)).toEqual(['init', 'predict', 'dispose']);
    expect((w.requests[0] as Extract<EngineRequest, { type: 'init' }>).options.inference).toBe(true);
  });

  it('without a port, the automatic choice skips Dawn (reported), and a job that names webgpu fails saying what to do', async () => {
    const a = utilityWorker();
    await a.next('ready');
    a.send({ type: 'start', job: { kind: 'predict', modelDir: MODEL, texts: texts.slice(0, 2), maxLength: 32 } });
    const { backend } = await a.next('backend');
    await a.next('predictions');
    expect(backend.name).not.toBe('webgpu');
    expect(backend.detail).toContain(`webgpu: ${DAWN_NOT_IN_ELECTRON}`);
    expect(a.requests).toEqual([]);

    const b = utilityWorker();
    await b.next('ready');
    b.send({ type: 'start', job: { kind: 'predict', modelDir: MODEL, texts: texts.slice(0, 2), backend: 'webgpu' } });
    const { error } = await b.next('failed');
    expect(error).toMatch(/^This job asks for the webgpu backend, and in the desktop app WebGPU runs only in the GPU engine window, which this job does not have/);
    expect(error).toMatch(/choose another backend \(CPU\)/);
    expect(b.messages.some((m) => m.type === 'backend')).toBe(false);
    expect(await b.exited).toBe(1);
  });

  it("the try-it box answers through the window, and ends with main's reason when the window is gone", async () => {
    const local = await Predictor.load(MODEL);
    const expected = await local.predict(texts.slice(0, 3));
    await local.dispose();

    const w = utilityWorker();
    await w.next('ready');
    w.connectWindow();
    w.send({ type: 'start', job: { kind: 'serve', modelDir: MODEL } });
    await w.next('serving');
    w.send({ type: 'request', id: 7, texts: texts.slice(0, 3) });
    const response = await w.next('response');
    expect(response.id).toBe(7);
    expect(response.predictions).toEqual(expected);
    expect(w.requests.map((r) => r.type)).toEqual(['init', 'predict']);

    const reason = 'The GPU engine window crashed (exit code 133). Try a smaller batch size or maximum length, or train on the CPU.';
    w.child.send({ kind: 'parent', data: { type: 'engine-window-gone', reason } });
    // A worker that ignored the notice would serve on with a dead window: 3 minutes is a hang.
    const { error } = await w.next('failed', 180_000);
    expect(error).toBe(reason);
    expect(await w.exited).toBe(1);
  });
});
