/**
 * The engine window's page: a hidden, sandboxed renderer (no Node) where Chromium's WebGPU exists.
 * It waits for the one MessagePort the preload hands over (src/preload/engine.ts posts it with
 * ENGINE_PORT_MESSAGE) and serves the engine-window protocol on it (EngineHost), training on the
 * tfjs webgpu backend; it answers 'adapter' (./adapter.ts) for main's GPU probe. It reads no files: the client sends the model and the batches.
 *
 * Imports only browser-safe engine modules (test/engine-window/browser-safe.test.ts checks the
 * bundle); webgpu/backend.ts's Dawn device is swapped for ./webgpu-device.ts at build time.
 */
import { queryAdapter } from './adapter';
import { noKernels, type Kernels } from '../main/engine/kernels';
import { startWebGpuBackend } from '../main/engine/webgpu/backend';
import { EngineHost, type HostPort } from '../main/engine/window-host';
import { ENGINE_PORT_MESSAGE } from '../main/engine/window-protocol';

/** As backends/start.ts's webgpu descriptor: the kernels, and after each step the device errors and the pool trim. */
async function startWebGpu(options: { allowSoftware: boolean }): Promise<Kernels | string> {
  try {
    const r = await startWebGpuBackend(options);
    if (!r.ok) return r.reason;
    const { handle } = r;
    const TRIM_SLACK = 256 * 1024 * 1024;
    return {
      ...noKernels('webgpu'),
      device: handle.report.label,
      afterStep() {
        handle.errors.throwIfAny();
        const pool = handle.poolBytes();
        if (pool.allocated > 2 * pool.used + TRIM_SLACK) handle.trimPool();
      },
    };
  } catch (err) {
    return `WebGPU unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

let served = false;

window.addEventListener('message', (event: MessageEvent) => {
  // Only the preload's hand-off (posted by this window to itself), and only once.
  if (served || event.source !== window || event.data !== ENGINE_PORT_MESSAGE || !event.ports[0]) return;
  served = true;
  const port = event.ports[0];
  const hostPort: HostPort = {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => {
      port.onmessage = (e: MessageEvent) => listener(e.data);
    },
  };
  new EngineHost(hostPort, startWebGpu, 'gpu' in navigator, queryAdapter);
});
