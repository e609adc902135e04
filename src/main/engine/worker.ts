/**
 * The engine worker's entry (out/main/trainer.js): runs one job away from the UI's process.
 * In Electron it is a utilityProcess (messages on process.parentPort); in the CLI and web host
 * a forked Node process (process.send). A crash or out-of-memory kills only this process; the
 * parent marks the run failed.
 *
 * In Electron, main may also hand it a port to the engine window ({type:'engine-port'}, before the
 * job): a training run, a prediction job, batch prediction or the try-it box that wants WebGPU
 * then runs its model there (window-route.ts says when), this process keeping the files;
 * {type:'engine-window-gone'} fails such a job with its message. Without a port, Electron's
 * utility process never tries Dawn's WebGPU itself (localBackendPlan).
 * Unverified in real Electron (it cannot launch here); the same Trainer and Predictor paths run in
 * test/engine-window/remote-trainer.test.ts and remote-predictor.test.ts against an in-process
 * engine host.
 */
import { loadPreparedDataset } from '../data/prepare';
import { startBackend, type StartedBackend } from './backends/start';
import { forcedBackend } from './backend';
import { DAWN_NOT_IN_ELECTRON, EngineWindowLink, engineWindowRoute, localBackendPlan, windowBackendInfo, windowWithoutWebGpu, type MessagePortMainLike, type WindowRoute } from './window-route';
import { Predictor, type RemotePredictorOptions } from './inference';
import type { EngineJob, ParentMessage, WorkerMessage } from './protocol';
import { benchmarkTraining } from './benchmark';
import { loadTokenizer } from './tokenizer';
import { Trainer } from './trainer';

interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown; ports?: MessagePortMainLike[] }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;

function send(message: WorkerMessage): void {
  if (parentPort) parentPort.postMessage(message);
  else if (process.send) process.send(message);
}

/** Main's engine window (Electron only): its port, and why it is gone when it is. */
const engineWindow = new EngineWindowLink();

function onMessage(listener: (m: ParentMessage) => void): void {
  if (parentPort)
    parentPort.on('message', (e) => {
      if (!engineWindow.notice(e.data, e.ports)) listener(e.data as ParentMessage);
    });
  else process.on('message', (m) => listener(m as ParentMessage));
}

const abort = new AbortController();
let started = false;
let serving: Predictor | null = null;

/** The typed codes of an error, so the parent never reads them out of the message. */
function errorCodes(err: unknown): { errno?: string; code?: string } {
  const e = err as { code?: unknown; name?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return {};
  return e.name === 'AppError' ? { code: e.code } : { errno: e.code };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

async function run(job: EngineJob): Promise<void> {
  if (job.kind === 'count-tokens') {
    // Only the tokenizer: no backend needed.
    const tokenizer = await loadTokenizer(job.modelDir);
    const counts: number[] = [];
    for (let i = 0; i < job.texts.length; i++) {
      counts.push(tokenizer.countTokens(job.texts[i]!));
      if (i % 1000 === 999) {
        send({ type: 'progress', done: i + 1, total: job.texts.length });
        await new Promise((r) => setImmediate(r));
        if (abort.signal.aborted) throw new DOMException('cancelled', 'AbortError');
      }
    }
    send({ type: 'token-counts', counts });
    return;
  }
  if (job.kind === 'baseline') {
    // Sparse Float64 arithmetic in plain JS: no backend needed.
    const { computeDatasetBaseline } = await import('./baseline/dataset-job');
    const summary = await computeDatasetBaseline(job.dataDir, job.datasetId, {
      signal: abort.signal,
      onProgress: (done, total, phase) => send({ type: 'data-progress', phase, done, total, etaSeconds: null }),
    });
    send({ type: 'baseline', summary });
    return;
  }
  if (job.kind === 'probe-webgpu') {
    const { probeWebGpu } = await import('./webgpu/probe');
    send({ type: 'webgpu-probe', status: await probeWebGpu() });
    return;
  }
  const route = engineWindowRoute(job, forcedBackend(), engineWindow.hasPort);
  if (route && engineWindow.gone) throw new Error(engineWindow.gone);
  // The model in the engine window: this process only loads, tokenises and saves, on a CPU backend;
  // the job records the window's backend once it holds the model.
  const { info: backend, kernels } = route ? await startHostBackend() : await startLocalBackend(job);
  if (!route) send({ type: 'backend', backend });
  const loadPredictor = (dir: string): Promise<Predictor> =>
    route
      ? Predictor.loadRemote(dir, remotePredictor(route)).catch((err: unknown) => {
          throw windowWithoutWebGpu(err, process.platform, 'predict');
        })
      : Predictor.load(dir, kernels);
  if (job.kind === 'serve') {
    serving = await loadPredictor(job.modelDir);
    send({ type: 'serving', labels: serving.labels });
    // Stays alive: requests arrive as messages until the parent stops it, or, when the model is
    // in the engine window, until the window is gone: the job fails with its reason and the
    // parent starts a new worker (and window) for the next request.
    const stopped = new Promise<null>((resolve) => abort.signal.addEventListener('abort', () => resolve(null), { once: true }));
    const gone = await Promise.race(route ? [stopped, engineWindow.whenGone()] : [stopped]);
    const predictor = serving;
    serving = null;
    if (gone !== null) {
      await predictor.dispose().catch(() => {});
      throw new Error(gone);
    }
    await predictor.dispose();
    return;
  }
  if (job.kind === 'predict-file') {
    const { exportPredictions } = await import('../export/index');
    const r = await exportPredictions(job.dataDir, job.runId, job.out, {
      input: job.input,
      csvInjectionSafe: job.csvInjectionSafe,
      signal: abort.signal,
      onProgress: (p) => send({ type: 'data-progress', phase: p.phase, done: p.done, total: p.total, etaSeconds: p.etaSeconds }),
      loadClassifier: loadPredictor,
    });
    send({ type: 'exported', path: r.path, files: r.files, rows: r.rows });
    return;
  }
  if (job.kind === 'benchmark') {
    const r = await benchmarkTraining(job, kernels, abort.signal, (done, total) => send({ type: 'progress', done, total }));
    send({ type: 'benchmark', ...r });
    return;
  }
  if (job.kind === 'predict') {
    const predictor = await loadPredictor(job.modelDir);
    try {
      const predictions = await predictor.predict(job.texts, {
        maxLength: job.maxLength,
        signal: abort.signal,
        onProgress: (done, total) => send({ type: 'progress', done, total }),
      });
      send({ type: 'predictions', predictions });
    } finally {
      await predictor.dispose();
    }
    return;
  }
  // The rows come from the prepared copy, checked against its fingerprint, not over IPC.
  const readPhase = (done: number, total: number | null): void =>
    send({ type: 'phase', event: { phase: 'loading', message: 'Reading the prepared dataset', done, total, etaSeconds: null } });
  readPhase(0, null);
  const data = await loadPreparedDataset(job.dataset.dataDir, job.dataset.id, { onProgress: readPhase, signal: abort.signal }).catch((err: unknown) => {
    if (abort.signal.aborted) throw new DOMException('cancelled', 'AbortError');
    throw err;
  });
  if (abort.signal.aborted) throw new DOMException('cancelled', 'AbortError');
  const trainer = new Trainer(
    { runId: job.runId, runDir: job.runDir, config: job.config, resume: job.resume, train: data.train, eval: data.eval },
    {
      phase: (event) => send({ type: 'phase', event }),
      step: (event) => send({ type: 'step', event }),
      evaluation: (event) => send({ type: 'eval', event }),
      checkpoint: (e) => send({ type: 'checkpoint', ...e }),
      log: (message) => send({ type: 'log', message }),
    },
    abort.signal,
    kernels,
    route
      ? {
          remote: {
            client: engineWindow.client(),
            allowSoftware: route.allowSoftware,
            onReady: (init) => send({ type: 'backend', backend: windowBackendInfo(init) }),
          },
        }
      : {},
  );
  const result = await trainer.run();
  send(result.status === 'cancelled' ? { type: 'cancelled', result } : { type: 'done', result });
}

/** The engine window as a Predictor's forward: the job records the window's backend once it holds the model. */
function remotePredictor(route: WindowRoute): RemotePredictorOptions {
  return {
    client: engineWindow.client(),
    allowSoftware: route.allowSoftware,
    onReady: (init) => send({ type: 'backend', backend: windowBackendInfo(init) }),
    call: { signal: abort.signal },
  };
}

/** This process's backend for a job that runs here: in Electron's utility process never Dawn's WebGPU (window-route.ts localBackendPlan). */
function startLocalBackend(job: EngineJob): Promise<StartedBackend> {
  const plan = localBackendPlan(job, forcedBackend(), parentPort !== undefined);
  return startBackend(plan.preferred, { skip: plan.skip, skipReason: DAWN_NOT_IN_ELECTRON });
}

/** The backend of this process when the engine window runs the model: native kernels where they load, else JavaScript. */
async function startHostBackend(): Promise<StartedBackend> {
  try {
    return await startBackend('native');
  } catch {
    return startBackend('cpu');
  }
}

function finish(code: number): void {
  // Let the last message flush before exiting.
  setTimeout(() => process.exit(code), 50);
}

onMessage((message) => {
  if (message.type === 'request') {
    const predictor = serving;
    if (!predictor) {
      send({ type: 'response-error', id: message.id, error: 'the model is still loading' });
      return;
    }
    predictor.predict(message.texts).then(
      (predictions) => send({ type: 'response', id: message.id, predictions }),
      (err: unknown) => send({ type: 'response-error', id: message.id, error: describe(err) }),
    );
    return;
  }
  if (message.type === 'cancel') {
    abort.abort();
    if (!started) {
      send({ type: 'cancelled', result: null });
      finish(0);
    }
    return;
  }
  if (message.type === 'start' && !started && !abort.signal.aborted) {
    started = true;
    run(message.job).then(
      () => finish(0),
      (err: unknown) => {
        if (abort.signal.aborted && err instanceof DOMException && err.name === 'AbortError') {
          send({ type: 'cancelled', result: null });
          finish(0);
          return;
        }
        // The engine window went away: its message says why (the failed call only that it closed).
        send({ type: 'failed', error: engineWindow.gone ?? describe(err), ...errorCodes(err) });
        finish(1);
      },
    );
  }
});

process.on('uncaughtException', (err) => {
  send({ type: 'failed', error: `the trainer crashed: ${describe(err)}`, ...errorCodes(err) });
  finish(1);
});

send({ type: 'ready', pid: process.pid });
