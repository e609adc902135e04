/**
 * The engine-window protocol in one process: EngineWindowClient against EngineHost over an
 * in-process port pair that structured-clones (and transfers) like a MessagePort. The host runs on
 * the Node backend here (cpu unless FINETUNE_TEST_BACKEND says otherwise); the same host runs in
 * Chromium on WebGPU in engine-window.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activeKernels } from '../../src/main/engine/backends/start';
import { EngineHost, type BackendStarter, type HostPort } from '../../src/main/engine/window-host';
import { EngineWindowClient, EngineWindowError, type ClientPort } from '../../src/main/engine/window-client';
import type { EngineRequest } from '../../src/main/engine/window-protocol';
import { readModelConfig } from '../../src/main/hf/config';
import { readModelWeights } from '../../src/main/hf/weights';
import { batchTensors, disposeBatch, padRows } from '../../src/main/engine/batch';
import { loadModelFolder } from '../../src/main/engine/load';
import { ForwardContext } from '../../src/main/engine/models/layers';
import { predictLogitsAsync, Stepper } from '../../src/main/engine/step';
import { RemoteStepper } from '../../src/main/engine/window-stepper';
import { maxAbsDiff, setTestBackend } from '../helpers/engine';
import { FAMILIES, fixtureDir, loadGolden } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';
import { goldenStep } from './golden-step';

useHeavyTimeouts();

const backend = process.env.FINETUNE_TEST_BACKEND ?? 'cpu';
beforeAll(async () => {
  await setTestBackend(backend);
});

type Listener = (data: unknown) => void;

/** Two connected ends; each message is structured-cloned with its transfer list and delivered on a later task. */
function portPair(): { client: ClientPort & { sent: EngineRequest[] }; host: HostPort } {
  const toHost: Listener[] = [];
  const toClient: Listener[] = [];
  const deliver = (listeners: Listener[], message: unknown, transfer: ArrayBuffer[]): void => {
    const copy = structuredClone(message, { transfer });
    setImmediate(() => listeners.forEach((l) => l(copy)));
  };
  const sent: EngineRequest[] = [];
  return {
    client: {
      sent,
      postMessage(message, transfer) {
        sent.push(message);
        deliver(toHost, message, transfer);
      },
      onMessage(l) {
        toClient.push(l);
        return () => toClient.splice(toClient.indexOf(l), 1);
      },
    },
    host: {
      postMessage: (message, transfer) => deliver(toClient, message, transfer),
      onMessage: (l) => void toHost.push(l),
    },
  };
}

const nodeBackend: BackendStarter = async () => activeKernels();

function connected(starter: BackendStarter = nodeBackend): { client: EngineWindowClient; sent: EngineRequest[] } {
  const pair = portPair();
  new EngineHost(pair.host, starter, false);
  return { client: new EngineWindowClient(pair.client), sent: pair.client.sent };
}

/** A port whose other end never answers. */
function silentPort(): ClientPort & { sent: EngineRequest[]; deliver: Listener } {
  let listener: Listener = () => {};
  const sent: EngineRequest[] = [];
  return {
    sent,
    postMessage: (m) => void sent.push(m),
    onMessage(l) {
      listener = l;
      return () => (listener = () => {});
    },
    deliver: (d) => listener(d),
  };
}

describe.each(FAMILIES)(`%s golden step through the engine-window protocol (${backend}, in process)`, (family) => {
  it('loss, grad norm, parameters and logits match the goldens; no tensor leaks across steps', async () => {
    const { client } = connected();
    expect((await client.ready()).webgpu).toBe(false);
    const r = await goldenStep(client, family, false);
    expect(r.init.backend).toBe(backend);
    expect(r.lossDiff).toBeLessThanOrEqual(1e-5);
    expect(r.gradNormRel).toBeLessThanOrEqual(1e-4);
    expect(r.clipCoefDiff).toBeLessThanOrEqual(1e-6);
    expect(r.logitsBeforeDiff).toBeLessThanOrEqual(1e-4);
    expect(r.logitsAfterDiff).toBeLessThanOrEqual(1e-4);
    expect(r.paramsFirst8Diff).toBeLessThanOrEqual(1e-4);
    expect(r.tensorsAfterThirdStep).toBe(r.tensorsAfterSecondStep);
  });
});

describe('EngineWindowClient', () => {
  it('a request before init fails with the reason, and the window keeps answering', async () => {
    const { client } = connected();
    const host = padRows([{ ids: [1, 2, 3] }], 0);
    const err = await client.predict(host).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineWindowError);
    expect((err as Error).message).toMatch(/failed 'predict'.*send 'init' first/);
    await expect(client.params()).rejects.toThrow(/send 'init' first/);
    await client.dispose();
  });

  it('weights that do not fit the config fail init with the loader error, and a good init still works after', async () => {
    const { client } = connected();
    const dir = fixtureDir('bert');
    const config = readModelConfig(dir);
    const { weights } = readModelWeights(dir);
    const first = [...weights.keys()].find((k) => k.includes('encoder'))!;
    const partial = new Map(weights);
    partial.delete(first);
    const opts = { weightDecay: 0, maxGradNorm: 1, seed: 1, reinitialiseMismatchedHead: false, allowSoftware: false, source: dir };
    const err = (await client.init(config, partial, opts).catch((e: unknown) => e)) as EngineWindowError;
    expect(err).toBeInstanceOf(EngineWindowError);
    expect(err.reason).toBe('WeightLoadError');
    expect(err.message).toContain(first);
    const ok = await client.init(config, weights, opts);
    expect(ok.loaded).toBeGreaterThan(0);
    // The caller's weights were copied, not transferred: they are still readable.
    expect(weights.get(first)!.data.length).toBeGreaterThan(0);
    await client.dispose();
  });

  it('a backend that cannot start fails init, saying why', async () => {
    const { client } = connected(async () => 'no WebGPU adapter (test)');
    const dir = fixtureDir('bert');
    const err = await client
      .init(readModelConfig(dir), readModelWeights(dir).weights, { weightDecay: 0, maxGradNorm: 1, seed: 1, reinitialiseMismatchedHead: false, allowSoftware: false, source: dir })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cannot train: no WebGPU adapter \(test\)/);
  });

  it('a window that never answers: the call times out, naming the request; a late answer is dropped', async () => {
    const port = silentPort();
    const client = new EngineWindowClient(port, { timeoutMs: 5 });
    const err = (await client.dispose().catch((e: unknown) => e)) as EngineWindowError;
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/did not answer 'dispose'/);
    expect(client.inFlight).toBe(0);
    port.deliver({ id: port.sent[0]!.id, type: 'disposed' });
    expect(client.inFlight).toBe(0);
    await expect(client.ready({ timeoutMs: 5 })).rejects.toThrow(/did not answer 'hello'/);
  });

  it('cancelling a call rejects it at once; a signal aborted before sending sends nothing', async () => {
    const port = silentPort();
    const client = new EngineWindowClient(port);
    const ac = new AbortController();
    const call = client.params(undefined, { signal: ac.signal });
    expect(client.inFlight).toBe(1);
    ac.abort();
    const err = (await call.catch((e: unknown) => e)) as EngineWindowError;
    expect(err.reason).toBe('cancelled');
    expect(client.inFlight).toBe(0);
    const sentBefore = port.sent.length;
    await expect(client.dispose({ signal: ac.signal })).rejects.toThrow(/cancelled before it was sent/);
    expect(port.sent.length).toBe(sentBefore);
  });

  it('closing rejects every waiting call and refuses new ones; replies are matched by id, in any order', async () => {
    const port = silentPort();
    const client = new EngineWindowClient(port);
    const a = client.dispose();
    const b = client.params(['x']);
    const [ida, idb] = port.sent.map((m) => m.id);
    port.deliver({ id: idb, type: 'params', params: [{ name: 'x', shape: [2], data: Float32Array.from([1, 2]).buffer }] });
    port.deliver({ id: ida, type: 'disposed' });
    await expect(a).resolves.toBeUndefined();
    expect([...(await b).get('x')!.data]).toEqual([1, 2]);
    const c = client.dispose();
    client.close('the engine window crashed');
    await expect(c).rejects.toThrow(/closed before answering 'dispose' \(the engine window crashed\)/);
    await expect(client.dispose()).rejects.toThrow(/is closed \(the engine window crashed\)/);
    expect(port.sent.length).toBe(3);
  });

  it('moments and restore: a request before init fails; a restore lacking a parameter or with a bad step fails, naming it', async () => {
    const { client } = connected();
    await expect(client.moments()).rejects.toThrow(/failed 'moments'.*send 'init' first/);
    await expect(client.restore(0, new Map())).rejects.toThrow(/failed 'restore'.*send 'init' first/);
    const dir = fixtureDir('bert');
    const { weights } = readModelWeights(dir);
    await client.init(readModelConfig(dir), weights, { weightDecay: 0, maxGradNorm: 1, seed: 1, reinitialiseMismatchedHead: false, allowSoftware: false, source: dir });
    const fresh = await client.moments();
    expect(fresh.step).toBe(0);
    expect(fresh.moments.size).toBe(weights.size);
    const [first, m0] = [...fresh.moments][0]!;
    expect(m0.m.length).toBe(weights.get(first)!.data.length);
    expect(m0.m.every((x) => x === 0) && m0.v.every((x) => x === 0)).toBe(true);
    const partial = new Map(fresh.moments);
    partial.delete(first);
    await expect(client.restore(3, partial)).rejects.toThrow(new RegExp(`no optimizer state for ${first.replace(/\./g, '\\.')}`));
    await expect(client.restore(-1, fresh.moments)).rejects.toThrow(/cannot restore the optimizer to step -1/);
    await client.dispose();
  });

  it('a reply of the wrong kind is a protocol error, not a result', async () => {
    const port = silentPort();
    const client = new EngineWindowClient(port);
    const call = client.dispose();
    port.deliver({ id: port.sent[0]!.id, type: 'logits', logits: new ArrayBuffer(4), numLabels: 1 });
    await expect(call).rejects.toThrow(/answered 'dispose' with 'logits'/);
  });
});

describe('RemoteStepper (the model in the window, files here)', () => {
  it('three steps in the window equal three local Stepper steps on the same backend; pullParams brings the parameters back', async () => {
    const dir = fixtureDir('roberta');
    const golden = loadGolden('roberta');
    const spec = (golden.train_step as { input: { input_ids: number[][]; attention_mask: number[][]; labels: number[]; lr: number; weight_decay: number; max_grad_norm: number } }).input;
    const local = await loadModelFolder(dir, { labels: ['a', 'b', 'c'], seed: 7 });
    const remoteModel = await loadModelFolder(dir, { labels: ['a', 'b', 'c'], seed: 7 });
    // A fresh 3-label head: the window must take the local head as it is, not initialise its own.
    expect(local.report.reinitialised.length).toBeGreaterThan(0);
    const rows = spec.input_ids.map((ids, i) => ({ ids: ids.slice(0, spec.attention_mask[i]!.reduce((a, b) => a + b, 0)) }));
    const host = padRows(rows, local.tokenizer.padId);
    const labels = Int32Array.from(spec.labels, (l) => l % 3);
    const options = { weightDecay: spec.weight_decay, maxGradNorm: spec.max_grad_norm };
    const stepper = new Stepper(local.model, options, activeKernels());
    const { client } = connected();
    const remote = await RemoteStepper.open(client, remoteModel.model, { ...options, allowSoftware: false, source: dir });
    try {
      for (let i = 0; i < 3; i++) {
        const contexts = [{ training: true, seed: 100 + i }];
        const tensors = batchTensors(host, local.model.config);
        const mine = await stepper.stepAsync([{ tensors, labels }], contexts.map((c) => new ForwardContext(c.training, c.seed, activeKernels())), 1e-3);
        disposeBatch(tensors);
        const theirs = await remote.stepAsync([{ host, labels }], contexts, 1e-3);
        expect(theirs).toEqual(mine);
      }
      const tensors = batchTensors(host, local.model.config);
      const mineLogits = await predictLogitsAsync(local.model, tensors, activeKernels());
      disposeBatch(tensors);
      expect([...(await remote.predictLogits(host))]).toEqual([...mineLogits]);
      // The local copy is still the loaded model until pulled.
      const name = local.model.store.names()[0]!;
      expect(maxAbsDiff(await remoteModel.model.store.get(name).data(), await local.model.store.get(name).data())).toBeGreaterThan(0);
      await remote.pullParams();
      for (const n of local.model.store.names()) expect(maxAbsDiff(await remoteModel.model.store.get(n).data(), await local.model.store.get(n).data()), n).toBe(0);
      // The window's optimizer state equals the local one, and restoring it elsewhere continues the same.
      const theirMoments = await remote.moments();
      await stepper.optimizer.prefetchMoments(activeKernels().backend);
      expect(theirMoments.step).toBe(3);
      expect(theirMoments.step).toBe(stepper.optimizer.step);
      const mineMoments = stepper.optimizer.moments();
      expect([...theirMoments.moments.keys()]).toEqual([...mineMoments.keys()]);
      for (const [n, x] of mineMoments) {
        expect(maxAbsDiff(theirMoments.moments.get(n)!.m, x.m), n).toBe(0);
        expect(maxAbsDiff(theirMoments.moments.get(n)!.v, x.v), n).toBe(0);
      }
      const second = connected();
      const restored = await RemoteStepper.open(second.client, remoteModel.model, { ...options, allowSoftware: false, source: dir });
      try {
        await restored.restore(theirMoments.step, theirMoments.moments);
        expect((await restored.moments()).step).toBe(3);
        const contexts = [{ training: true, seed: 200 }];
        const a = await remote.stepAsync([{ host, labels }], contexts, 1e-3);
        const b = await restored.stepAsync([{ host, labels }], contexts, 1e-3);
        expect(b).toEqual(a);
        // Without the moments the same step differs (the test can fail).
        const third = connected();
        const bare = await RemoteStepper.open(third.client, remoteModel.model, { ...options, allowSoftware: false, source: dir });
        await bare.restore(3, new Map([...theirMoments.moments].map(([n, x]) => [n, { m: new Float32Array(x.m.length), v: new Float32Array(x.v.length) }])));
        await bare.stepAsync([{ host, labels }], contexts, 1e-3);
        await restored.pullParams();
        const afterRestored = Float32Array.from(await remoteModel.model.store.get(name).data());
        await bare.pullParams();
        expect(maxAbsDiff(await remoteModel.model.store.get(name).data(), afterRestored)).toBeGreaterThan(0);
        await bare.dispose();
      } finally {
        await restored.dispose();
      }
    } finally {
      await remote.dispose();
      stepper.dispose();
      local.model.store.dispose();
      remoteModel.model.store.dispose();
    }
  });
});
