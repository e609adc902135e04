/**
 * The WebGPU adapter query behind systemInfo: is there a real GPU that training would use? Runs in
 * an engine worker (Dawn is loaded there, never in the host process), opens the device the
 * trainer would open, names it and closes it again.
 */
import type { WebGpuStatus } from '../../../shared/types';
import { packageInstalled } from '../backend';
import { openWebGpu } from './device';

const SOFTWARE_ONLY = /only a software adapter \((.*)\); FINETUNE_BACKEND=webgpu uses it/;

export async function probeWebGpu(): Promise<WebGpuStatus> {
  if (!packageInstalled('webgpu')) return { state: 'no-package', reason: 'the webgpu package (Dawn for Node) is not installed' };
  let open: Awaited<ReturnType<typeof openWebGpu>>;
  try {
    open = await openWebGpu({ allowSoftware: false });
  } catch (err) {
    return { state: 'probe-failed', reason: (err as Error).message.split('\n')[0] ?? String(err) };
  }
  if (open.ok) {
    open.device.destroy();
    return { state: 'found', label: open.report.label };
  }
  for (const t of open.tried) {
    const m = SOFTWARE_ONLY.exec(t);
    if (m) return { state: 'software-only', label: m[1]! };
  }
  return { state: 'no-adapter', reason: open.reason };
}
