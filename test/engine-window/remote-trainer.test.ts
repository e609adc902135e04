/**
 * The Trainer with the engine window as its engine (TrainerOptions.remote), against the real
 * EngineHost (window-host.ts) in this process over a worker_threads MessageChannel (structured
 * clone and transfer, as a MessagePort): a short training run of the reference tiny BERT with
 * dropout on must equal the same run on the local Stepper bit for bit (cpu backend, unless
 * FINETUNE_TEST_BACKEND says otherwise): losses, gradient norms, evaluations, the checkpoint's
 * weights and moments, the saved model.safetensors and the predictions; and a run stopped after
 * its first epoch's checkpoint and resumed through the window continues exactly.
 *
 * The window side runs in this process (so both sides share one tfjs engine): the tensor count is
 * read once per step, on the trainer's side through the sink and on the window's side from its
 * step replies, and must stay constant across steps and come back to where it started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { latestCheckpoint, readCheckpoint } from '../../src/main/engine/checkpoint';
import { tf } from '../../src/main/engine/tf';
import { MODEL_DIR, PREDICTIONS_FILE, Trainer, type TrainerOptions, type TrainerSink, type TrainJob } from '../../src/main/engine/trainer';
import type { BackendStarter } from '../../src/main/engine/window-host';
import type { InitResult } from '../../src/main/engine/window-protocol';
import type { EvalMetrics, TrainStepEvent } from '../../src/shared/types';
import { agNewsRows, agNewsTrainJob } from '../helpers/agnews';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { useHeavyTimeouts } from '../engine/timeouts';
import { inProcessEngineWindow, type InProcessWindow } from './in-process-window';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
let tmp: string;
beforeAll(async () => {
  await setTestBackend(backend);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-remote-trainer-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const train = agNewsRows('train_5k.csv', 48);
const evalRows = agNewsRows('test.csv', 24);

/** 3 epochs of 6 steps; maxGradNorm 1 (clipping on); dropout 0.1 in the fixture's config. */
function job(name: string): TrainJob {
  return agNewsTrainJob(tmp, name, { train, eval: evalRows }, { epochs: 3 });
}

interface Window extends InProcessWindow {
  options: TrainerOptions;
  init: InitResult[];
}

/** The in-process engine window (in-process-window.ts) as the Trainer's remote engine. */
function engineWindow(starter?: BackendStarter): Window {
  const win = inProcessEngineWindow(starter);
  const init: InitResult[] = [];
  return { ...win, options: { remote: { client: win.client, allowSoftware: false, onReady: (r) => init.push(r) } }, init };
}

interface Recording {
  sink: TrainerSink;
  steps: TrainStepEvent[];
  evals: EvalMetrics[];
  checkpoints: number[];
  logs: string[];
  /** tf.memory().numTensors at each step event. */
  tensors: number[];
}

function recordingSink(onCheckpoint?: () => void): Recording {
  const r: Recording = { steps: [], evals: [], checkpoints: [], logs: [], tensors: [], sink: null! };
  r.sink = {
    phase: () => {},
    step: (e) => {
      r.steps.push(e);
      r.tensors.push(tf.memory().numTensors);
    },
    evaluation: (e) => r.evals.push(e.metrics),
    checkpoint: (e) => {
      r.checkpoints.push(e.step);
      onCheckpoint?.();
    },
    log: (m) => r.logs.push(m),
  };
  return r;
}

const fileOf = (runDir: string, ...rel: string[]): Buffer => fs.readFileSync(path.join(runDir, ...rel));

/** What must match between two runs: every step's numbers, and the evaluations without timing. */
function curve(r: Recording): unknown[] {
  return r.steps.map((s) => [s.step, s.loss, s.gradNorm, s.learningRate, s.epoch]);
}

describe(`Trainer through the engine-window protocol (${backend}, host in process)`, () => {
  let local: Recording;
  let remote: Recording;
  let localJob: TrainJob;
  let remoteJob: TrainJob;

  it('a full run in the window equals the local run bit for bit: losses, grad norms, evaluations, checkpoint, model.safetensors, predictions; tensors steady on both sides', async () => {
    localJob = job('local');
    remoteJob = job('remote');
    const start = tf.memory().numTensors;
    local = recordingSink();
    const l = await new Trainer(localJob, local.sink, new AbortController().signal, activeKernels()).run();
    expect(l.status).toBe('completed');
    expect(tf.memory().numTensors).toBe(start);

    const win = engineWindow();
    remote = recordingSink();
    let r;
    try {
      r = await new Trainer(remoteJob, remote.sink, new AbortController().signal, activeKernels(), win.options).run();
    } finally {
      win.close();
    }
    expect(r.status).toBe('completed');
    expect(win.init.map((i) => i.backend)).toEqual([backend]);
    expect(remote.logs.some((m) => m.startsWith('Training in the engine window on '))).toBe(true);
    expect(local.logs.some((m) => m.startsWith('Training in the engine window'))).toBe(false);

    expect(remote.steps.length).toBe(18);
    expect(curve(remote)).toEqual(curve(local));
    expect(remote.evals.length).toBe(3);
    expect(remote.evals).toEqual(local.evals);
    expect(remote.checkpoints).toEqual([6, 12]);
    expect(r.bestMetric).toBe(l.bestMetric);
    expect(r.globalStep).toBe(18);

    // The saved best model and its predictions: pulled from the window before the save.
    expect(fileOf(remoteJob.runDir, MODEL_DIR, 'model.safetensors').equals(fileOf(localJob.runDir, MODEL_DIR, 'model.safetensors'))).toBe(true);
    expect(fileOf(remoteJob.runDir, PREDICTIONS_FILE).equals(fileOf(localJob.runDir, PREDICTIONS_FILE))).toBe(true);
    // The last checkpoint: the window's parameters and its optimizer's moments, as the local optimizer's.
    const cl = readCheckpoint(latestCheckpoint(localJob.runDir)!);
    const cr = readCheckpoint(latestCheckpoint(remoteJob.runDir)!);
    expect(path.basename(latestCheckpoint(remoteJob.runDir)!)).toBe('checkpoint-12');
    expect(cr.state.globalStep).toBe(12);
    expect([...cr.weights.keys()]).toEqual([...cl.weights.keys()]);
    for (const [name, w] of cl.weights) expect(maxAbsDiff(cr.weights.get(name)!.data, w.data), name).toBe(0);
    expect([...cr.moments.keys()]).toEqual([...cl.moments.keys()]);
    let nonZero = 0;
    for (const [name, x] of cl.moments) {
      expect(maxAbsDiff(cr.moments.get(name)!.m, x.m), name).toBe(0);
      expect(maxAbsDiff(cr.moments.get(name)!.v, x.v), name).toBe(0);
      if (x.v.some((v) => v !== 0)) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(0);

    // Tensors: constant across steps (after the first, which makes the optimizer's state) on the
    // trainer's side and in the window's replies; all freed when the run ends (the window's model too).
    expect(win.windowTensors.length).toBe(18);
    for (const counts of [local.tensors, remote.tensors, win.windowTensors]) {
      expect(new Set(counts.slice(1, 6)).size, `${counts}`).toBe(1);
    }
    expect(new Set(win.windowTensors.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('stopped after epoch 1 and resumed through the window (a new window): continues exactly as the uninterrupted run', async () => {
    const j = job('remote-resumed');
    const ac = new AbortController();
    const first = recordingSink(() => ac.abort());
    const win1 = engineWindow();
    try {
      const r1 = await new Trainer(j, first.sink, ac.signal, activeKernels(), win1.options).run();
      expect(r1.status).toBe('cancelled');
    } finally {
      win1.close();
    }
    expect(latestCheckpoint(j.runDir)).toMatch(/checkpoint-6$/);
    expect(first.steps.length).toBe(6);

    const win2 = engineWindow();
    const second = recordingSink();
    try {
      const r2 = await new Trainer({ ...j, resume: true }, second.sink, new AbortController().signal, activeKernels(), win2.options).run();
      expect(r2.status).toBe('completed');
    } finally {
      win2.close();
    }
    expect(second.logs).toContain('Resumed at step 6 (epoch 1).');
    expect(second.steps[0]!.step).toBe(7);
    const resumed = [...first.steps, ...second.steps];
    expect(resumed.map((s) => s.loss)).toEqual(remote.steps.map((s) => s.loss));
    expect(resumed.map((s) => s.gradNorm)).toEqual(remote.steps.map((s) => s.gradNorm));
    expect([...first.evals, ...second.evals]).toEqual(remote.evals);
    expect(fileOf(j.runDir, MODEL_DIR, 'model.safetensors').equals(fileOf(localJob.runDir, MODEL_DIR, 'model.safetensors'))).toBe(true);
  });

  it('the window going away mid-run fails the run with the reason, and the trainer still cleans up here', async () => {
    const win = engineWindow();
    const reason = 'The GPU engine window crashed (exit code 133). Try a smaller batch size or maximum length, or train on the CPU.';
    const rec = recordingSink();
    const sink: TrainerSink = {
      ...rec.sink,
      step: (e) => {
        rec.sink.step(e);
        if (e.step === 2) win.options.remote!.client.close(reason);
      },
    };
    const err = await new Trainer(job('remote-gone'), sink, new AbortController().signal, activeKernels(), win.options).run().catch((e: unknown) => e);
    win.close();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(reason);
    expect(rec.steps.length).toBe(2);
    expect(rec.logs.some((m) => m.startsWith('The engine window could not free the model'))).toBe(true);
  });

  it('a run on webgpu whose window has no WebGPU (Linux without --webgpu) fails saying what to do, not with the bare reason', async () => {
    // The page's own reason when navigator.gpu is missing (src/engine-window/webgpu-device.ts).
    const win = engineWindow(async () => 'this window has no navigator.gpu (WebGPU is disabled or unsupported here)');
    const rec = recordingSink();
    const err = await new Trainer(job('remote-no-webgpu'), rec.sink, new AbortController().signal, activeKernels(), win.options).run().catch((e: unknown) => e);
    win.close();
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain('no navigator.gpu');
    expect(message).toMatch(/This run trains on WebGPU/);
    expect(message).toMatch(process.platform === 'linux' ? /npm start -- --webgpu/ : /update the driver/);
    expect(rec.steps.length).toBe(0);
  });
});
