/**
 * The 'adapter' request (systemInfo's GPU probe in Electron): the client's side against a fake
 * port (what it sends, how it takes the answer or a failure), the host's side (answers with the
 * page's query, starts no backend), and the probe's answer feeding systemInfo's status through
 * WebGpuProbe and the launcher's decision. The page's real answer in Chromium is in
 * adapter-chromium.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineHost, type HostPort } from '../../src/main/engine/window-host';
import { EngineWindowClient, EngineWindowError, type ClientPort } from '../../src/main/engine/window-client';
import type { AdapterAnswer, EngineReply, EngineRequest } from '../../src/main/engine/window-protocol';
import { adapterStatus, engineWindowWanted } from '../../src/main/engine-window-policy';
import { WebGpuProbe } from '../../src/main/features/gpu-probe';
import type { WorkerContext } from '../../src/main/training/jobs';
import type { WebGpuStatus } from '../../src/shared/types';

type Listener = (data: unknown) => void;

/** A client port whose other end is the test. */
function fakePort(): ClientPort & { sent: EngineRequest[]; deliver: Listener } {
  let listener: Listener = () => {};
  const sent: EngineRequest[] = [];
  return {
    sent,
    postMessage: (m) => void sent.push(structuredClone(m)),
    onMessage(l) {
      listener = l;
      return () => (listener = () => {});
    },
    deliver: (d) => listener(d),
  };
}

const GPU: AdapterAnswer = { ok: true, vendor: 'nvidia', architecture: 'ampere', device: '0x2504', description: 'NVIDIA GeForce RTX 3060', isFallbackAdapter: false };

describe("EngineWindowClient.adapter (the client's side)", () => {
  it("sends {type:'adapter'} with an id and resolves with the window's answer", async () => {
    const port = fakePort();
    const client = new EngineWindowClient(port);
    const pending = client.adapter();
    expect(port.sent).toHaveLength(1);
    const req = port.sent[0]!;
    expect(req.type).toBe('adapter');
    expect(Object.keys(req).sort()).toEqual(['id', 'type']);
    port.deliver({ id: req.id + 1000, type: 'adapter', adapter: { ok: false, why: 'no-adapter', reason: 'someone else' } } satisfies EngineReply);
    port.deliver({ id: req.id, type: 'adapter', adapter: GPU } satisfies EngineReply);
    expect(await pending).toEqual(GPU);
    expect(client.inFlight).toBe(0);
  });

  it("a window's error, a wrong reply, a timeout or a closed window reject, naming 'adapter'", async () => {
    const port = fakePort();
    const client = new EngineWindowClient(port);
    const a = client.adapter();
    port.deliver({ id: port.sent[0]!.id, type: 'error', name: 'Error', message: 'boom' });
    await expect(a).rejects.toThrow(/failed 'adapter': boom/);
    const b = client.adapter();
    port.deliver({ id: port.sent[1]!.id, type: 'disposed' });
    await expect(b).rejects.toThrow(/answered 'adapter' with 'disposed'/);
    const c = await client.adapter({ timeoutMs: 10 }).catch((e: unknown) => e);
    expect(c).toBeInstanceOf(EngineWindowError);
    expect((c as EngineWindowError).reason).toBe('timeout');
    const d = client.adapter();
    client.close('the probe window crashed');
    await expect(d).rejects.toThrow(/closed before answering 'adapter' \(the probe window crashed\)/);
  });
});

describe("EngineHost answers 'adapter' (the window's side)", () => {
  function hostWith(query?: () => Promise<AdapterAnswer>): { client: EngineWindowClient; started: number[] } {
    const toHost: Listener[] = [];
    const toClient: Listener[] = [];
    const started: number[] = [];
    const host: HostPort = {
      postMessage: (m) => setImmediate(() => toClient.forEach((l) => l(structuredClone(m)))),
      onMessage: (l) => void toHost.push(l),
    };
    const port: ClientPort = {
      postMessage: (m) => setImmediate(() => toHost.forEach((l) => l(structuredClone(m)))),
      onMessage(l) {
        toClient.push(l);
        return () => toClient.splice(toClient.indexOf(l), 1);
      },
    };
    const client = new EngineWindowClient(port);
    new EngineHost(
      host,
      async () => {
        started.push(1);
        return 'not in this test';
      },
      query !== undefined,
      query ?? null,
    );
    return { client, started };
  }

  it("with the page's query: its answer, and no backend is started", async () => {
    const { client, started } = hostWith(async () => GPU);
    expect(await client.adapter()).toEqual(GPU);
    expect(started).toEqual([]);
  });

  it('without one: no adapter, saying so', async () => {
    const { client } = hostWith();
    const a = await client.adapter();
    expect(a.ok).toBe(false);
    expect(!a.ok && a.reason).toMatch(/no WebGPU adapter query/);
  });
});

describe("the probe window's answer in systemInfo and the launcher's decision", () => {
  beforeEach(() => {
    vi.stubEnv('FINETUNE_BACKEND', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  /** A worker context that fails the test if the Dawn probe worker is started. */
  const noWorkers = {
    launcher: () => {
      throw new Error('the Dawn probe worker must not start when the host has its own query');
    },
    workerEntry: '/nowhere',
    env: {},
  } as unknown as WorkerContext;

  it("WebGpuProbe answers 'probing', then the host query's status; asked once; no Dawn worker", async () => {
    let asked = 0;
    let answer: (s: WebGpuStatus) => void = () => {};
    const probe = new WebGpuProbe(noWorkers, true, () => {
      asked++;
      return new Promise<WebGpuStatus>((r) => (answer = r));
    });
    expect(probe.current()).toEqual({ state: 'probing' });
    expect(probe.current()).toEqual({ state: 'probing' });
    const status = adapterStatus(GPU, { platform: 'linux', webGpuOn: true });
    answer(status);
    await new Promise((r) => setImmediate(r));
    expect(probe.current()).toEqual({ state: 'found', label: 'NVIDIA GeForce RTX 3060 via WebGPU (Chromium)' });
    expect(asked).toBe(1);
    expect(engineWindowWanted({ kind: 'train' }, { forced: null, gpu: probe.current(), localBackend: 'native' })).toBe(true);
  });

  it('a failing host query is probe-failed, with its reason', async () => {
    const probe = new WebGpuProbe(noWorkers, true, () => Promise.reject(new Error('the engine window did not load')));
    probe.current();
    await new Promise((r) => setImmediate(r));
    expect(probe.current()).toEqual({ state: 'probe-failed', reason: 'the engine window did not load' });
  });
});
