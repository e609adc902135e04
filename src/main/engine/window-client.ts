/**
 * The client of the engine window (window-protocol.ts): the side that owns the files (the trainer
 * in the utility process, a test) sends the model and the batches over a MessagePort-like port and
 * awaits each reply. One request per id; replies may come in any order (the window answers in
 * arrival order). A call rejects with the window's error, when its signal aborts, when its timeout
 * passes, or when the port closes (the window crashed or was closed): the caller always learns.
 *
 * Cancelling a call does not stop the window's work on it: the reply is dropped when it comes, and
 * later requests queue behind it in the window.
 */
import type { ModelConfig } from '../hf/config';
import type { WeightMap } from '../hf/safetensors';
import type { HostBatch } from './batch';
import {
  fromWireMoments,
  ownBuffer,
  toWireBatch,
  toWireMoments,
  transferables,
  type AdapterAnswer,
  type EngineHello,
  type EngineReply,
  type EngineRequest,
  type InitOptions,
  type InitResult,
  type StepResult,
  type WireContext,
} from './window-protocol';

/** The port as the client sees it: an Electron MessagePortMain, a DOM MessagePort, or a test's bridge. */
export interface ClientPort {
  /** transfer: the ArrayBuffers in the message (a port that cannot transfer them copies). */
  postMessage(message: EngineRequest, transfer: ArrayBuffer[]): void;
  /** Returns a function that stops listening. */
  onMessage(listener: (data: unknown) => void): () => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Reject when no reply came within this many milliseconds (default: the client's). */
  timeoutMs?: number;
}

/** A failure of the engine window, or of the way to it: which request, and why. */
export class EngineWindowError extends Error {
  constructor(
    readonly request: string,
    message: string,
    /** The window's error name (WeightLoadError...), 'timeout', 'cancelled' or 'closed'. */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'EngineWindowError';
  }
}

type Request = EngineRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  type: string;
  resolve(reply: EngineReply): void;
  reject(err: Error): void;
}

export class EngineWindowClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | null = null;
  private readonly stop: () => void;
  private hello: EngineHello | null = null;
  private helloWaiters: ((h: EngineHello) => void)[] = [];

  constructor(
    private readonly port: ClientPort,
    private readonly options: { timeoutMs?: number } = {},
  ) {
    this.stop = port.onMessage((data) => this.receive(data));
  }

  private receive(data: unknown): void {
    const d = data as { type?: unknown; id?: unknown } | null;
    if (!d || typeof d !== 'object') return;
    if (d.type === 'hello') {
      this.hello = d as EngineHello;
      for (const w of this.helloWaiters.splice(0)) w(this.hello);
      return;
    }
    if (typeof d.id !== 'number') return;
    const p = this.pending.get(d.id);
    if (!p) return; // cancelled or timed out: the late reply is dropped
    this.pending.delete(d.id);
    const reply = d as EngineReply;
    if (reply.type === 'error') p.reject(new EngineWindowError(p.type, `the engine window failed '${p.type}': ${reply.message}`, reply.name));
    else p.resolve(reply);
  }

  /** The window's greeting (it listens; whether it has WebGPU). */
  ready(call: CallOptions = {}): Promise<EngineHello> {
    if (this.hello) return Promise.resolve(this.hello);
    return this.guard('hello', call, (resolve) => {
      this.helloWaiters.push(resolve);
      return () => (this.helloWaiters = this.helloWaiters.filter((w) => w !== resolve));
    });
  }

  /**
   * Runs fn(resolve) until it resolves, the signal aborts, the timeout passes or the client closes;
   * fn returns its clean-up.
   */
  private guard<T>(type: string, call: CallOptions, fn: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
    if (this.closedReason) return Promise.reject(new EngineWindowError(type, `the engine window is closed (${this.closedReason}); '${type}' was not sent`, 'closed'));
    if (call.signal?.aborted) return Promise.reject(new EngineWindowError(type, `'${type}' was cancelled before it was sent`, 'cancelled'));
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      let cleanup: () => void = () => {};
      const onAbort = (): void => finish(() => reject(new EngineWindowError(type, `'${type}' was cancelled; the engine window's answer will be ignored`, 'cancelled')));
      const finish = (settle: () => void): void => {
        if (timer) clearTimeout(timer);
        call.signal?.removeEventListener('abort', onAbort);
        this.closers.delete(onClose);
        cleanup();
        settle();
      };
      const onClose = (reason: string): void => finish(() => reject(new EngineWindowError(type, `the engine window closed before answering '${type}' (${reason})`, 'closed')));
      this.closers.add(onClose);
      call.signal?.addEventListener('abort', onAbort, { once: true });
      const timeoutMs = call.timeoutMs ?? this.options.timeoutMs;
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            finish(() =>
              reject(new EngineWindowError(type, `the engine window did not answer '${type}' within ${Math.round(timeoutMs / 1000)} s: it may have hung or crashed; restart the run`, 'timeout')),
            ),
          timeoutMs,
        );
      }
      cleanup = fn(
        (v) => finish(() => resolve(v)),
        (e) => finish(() => reject(e)),
      );
    });
  }

  private readonly closers = new Set<(reason: string) => void>();

  private call<T extends EngineReply['type']>(request: Request, expect: T, call: CallOptions = {}): Promise<Extract<EngineReply, { type: T }>> {
    const type = request.type;
    return this.guard(type, call, (resolve, reject) => {
      const id = this.nextId++;
      const message = { ...request, id } as EngineRequest;
      this.pending.set(id, {
        type,
        resolve: (reply) =>
          reply.type === expect
            ? resolve(reply as Extract<EngineReply, { type: T }>)
            : reject(new EngineWindowError(type, `the engine window answered '${type}' with '${reply.type}' instead of '${expect}'`, 'protocol')),
        reject,
      });
      try {
        this.port.postMessage(message, transferables(message));
      } catch (err) {
        this.pending.delete(id);
        reject(new EngineWindowError(type, `could not send '${type}' to the engine window: ${(err as Error).message}`, 'closed'));
      }
      return () => this.pending.delete(id);
    });
  }

  /** Loads the model (parsed config, weights as read by hf/) and makes its optimizer. The weights are copied. */
  async init(config: ModelConfig, weights: WeightMap, options: InitOptions, call?: CallOptions): Promise<InitResult> {
    const wire = [...weights].map(([name, t]) => ({ name, shape: [...t.shape], data: ownBuffer(t.data) }));
    return (await this.call({ type: 'init', config, weights: wire, options }, 'ready', call)).result;
  }

  /** One optimizer step over the micro-batches (summed gradients, clipping, AdamW). */
  async step(micro: readonly { host: HostBatch; labels: Int32Array }[], contexts: readonly WireContext[], learningRate: number, call?: CallOptions): Promise<StepResult> {
    const wire = micro.map((m) => toWireBatch(m.host, m.labels));
    return (await this.call({ type: 'step', micro: wire, contexts: [...contexts], learningRate }, 'stepped', call)).result;
  }

  /** Eval-mode logits, flat [batchSize * numLabels]. */
  async predict(host: HostBatch, call?: CallOptions): Promise<Float32Array> {
    return new Float32Array((await this.call({ type: 'predict', batch: toWireBatch(host) }, 'logits', call)).logits);
  }

  /** The current parameters by HF name (all, or the ones named). */
  async params(names?: readonly string[], call?: CallOptions): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const reply = await this.call({ type: 'params', names: names ? [...names] : undefined }, 'params', call);
    return new Map(reply.params.map((p) => [p.name, { shape: p.shape, data: new Float32Array(p.data) }]));
  }

  /** The optimizer's step count and moments by parameter name (copies), for a checkpoint. */
  async moments(call?: CallOptions): Promise<{ step: number; moments: Map<string, { m: Float32Array; v: Float32Array }> }> {
    const reply = await this.call({ type: 'moments' }, 'moments', call);
    return { step: reply.step, moments: fromWireMoments(reply.moments) };
  }

  /** Sets the optimizer's step count and moments (a resumed run). The caller's arrays are copied. */
  async restore(step: number, moments: ReadonlyMap<string, { m: Float32Array; v: Float32Array }>, call?: CallOptions): Promise<void> {
    await this.call({ type: 'restore', step, moments: toWireMoments(moments) }, 'restored', call);
  }

  /** Frees the model and its optimizer in the window. */
  async dispose(call?: CallOptions): Promise<void> {
    await this.call({ type: 'dispose' }, 'disposed', call);
  }

  /** The window's WebGPU adapter (systemInfo's probe in Electron): its info, or why there is none. Starts no backend. */
  async adapter(call?: CallOptions): Promise<AdapterAnswer> {
    return (await this.call({ type: 'adapter' }, 'adapter', call)).adapter;
  }

  /** Calls waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Stops listening and rejects every waiting call with the reason (the window closed or crashed,
   * the run ended); later calls reject at once.
   */
  close(reason = 'closed by the client'): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.stop();
    for (const c of [...this.closers]) c(reason);
  }
}
