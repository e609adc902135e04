/**
 * The real EngineHost (window-host.ts) in this process at one end of a worker_threads
 * MessageChannel (structured clone and transfer, as a MessagePort), an EngineWindowClient at the
 * other: the engine window without Chromium. Shared by remote-trainer.test.ts and
 * remote-predictor.test.ts. Both sides share this process's tfjs engine, so tf.memory() counts
 * the window's tensors too.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { activeKernels } from '../../src/main/engine/backends/start';
import { EngineHost, type BackendStarter } from '../../src/main/engine/window-host';
import { EngineWindowClient } from '../../src/main/engine/window-client';
import type { EngineRequest } from '../../src/main/engine/window-protocol';

export interface InProcessWindow {
  client: EngineWindowClient;
  /** The window's tensor count after each step, from its replies. */
  windowTensors: number[];
  /** The requests the client sent, in order. */
  requests: EngineRequest[];
  close(): void;
}

/** An EngineHost on this process's backend (or the starter given), and its client; onRequest sees each request as it is sent. */
export function inProcessEngineWindow(starter: BackendStarter = async () => activeKernels(), onRequest?: (request: EngineRequest) => void): InProcessWindow {
  const { port1, port2 } = new MessageChannel();
  const windowTensors: number[] = [];
  const requests: EngineRequest[] = [];
  new EngineHost(
    {
      postMessage: (message, transfer) => port1.postMessage(message, transfer),
      onMessage: (listener) => void port1.on('message', listener),
    },
    starter,
    false,
  );
  const clientPort = {
    postMessage: (message: EngineRequest, transfer: ArrayBuffer[]) => {
      requests.push(message);
      onRequest?.(message);
      port2.postMessage(message, transfer);
    },
    onMessage(listener: (data: unknown) => void) {
      const spy = (data: unknown): void => {
        const d = data as { type?: string; result?: { numTensors?: number } };
        if (d.type === 'stepped' && typeof d.result?.numTensors === 'number') windowTensors.push(d.result.numTensors);
        listener(data);
      };
      (port2 as MessagePort).on('message', spy);
      return () => void port2.off('message', spy);
    },
  };
  const client = new EngineWindowClient(clientPort, { timeoutMs: 10 * 60_000 });
  return {
    client,
    windowTensors,
    requests,
    close() {
      client.close('test finished');
      port1.close();
      port2.close();
    },
  };
}
