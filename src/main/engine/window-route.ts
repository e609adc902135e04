/**
 * When the engine worker trains in the engine window (window-protocol.ts) rather than on a backend
 * of its own process, and what the run then records.
 *
 * The rule: a training job trains in the window when Electron's main handed this process a port
 * to one ({type:'engine-port'}) and the job wants WebGPU: asked for by name (the job's backend or
 * FINETUNE_BACKEND=webgpu, a software adapter then accepted) or not asked for at all (the best
 * available: main opens the window in that case only when its WebGPU probe found a real adapter).
 * Dawn is not tried in this process first: in Electron's utility process it cannot read results
 * back (Electron forbids external ArrayBuffers, dawn-gpu/node-webgpu issue 5), and a failure
 * inside a native binding can take the process down instead of throwing; the port's presence is
 * the cleaner signal, since only Electron's main sends it, and only when WebGPU is wanted. No
 * separate FINETUNE_BACKEND value is needed. The CLI and web host never have a port: unchanged.
 */
import type { BackendInfo, BackendName } from '../../shared/types';
import { BACKEND_LABELS, backendInfo } from './backend';
import type { EngineJob } from './protocol';
import type { InitResult } from './window-protocol';

export interface WindowRoute {
  /** Accept a software WebGPU adapter in the window (WebGPU asked for by name). */
  allowSoftware: boolean;
}

/** The route for a job: the engine window (how), or null to train on this process's backend. */
export function engineWindowRoute(job: EngineJob, forced: BackendName | null, hasPort: boolean): WindowRoute | null {
  if (job.kind !== 'train' || !hasPort) return null;
  const wanted = job.backend ?? forced;
  if (wanted === 'webgpu') return { allowSoftware: true };
  if (wanted === null || wanted === undefined) return { allowSoftware: false };
  return null;
}

/** What the run records once the window holds the model: its backend and adapter, and where it runs. */
export function windowBackendInfo(init: InitResult): BackendInfo {
  const name: BackendName = init.backend in BACKEND_LABELS ? (init.backend as BackendName) : 'webgpu';
  const info = backendInfo(name, `${init.device}; in the engine window (a Chromium renderer), files in the engine worker`);
  info.label = `${info.label}: ${init.device}`;
  return info;
}
