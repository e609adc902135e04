/**
 * Which TensorFlow.js backend trains. Best first: tfjs-node-gpu (CUDA), tfjs-node (libtensorflow),
 * then the npm-only backends that always install (wasm, cpu). probeBackend() is cheap (it looks
 * for the installed packages and their native bindings without loading them) and answers
 * systemInfo; the trainer loads the backend for real and reports the one that ran.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { BackendInfo, BackendName } from '../../shared/types';
import { readEnvironment } from '../environment';
import { addonCandidates } from './native/addon';

const resolveRequire = createRequire(import.meta.url);

export const BACKEND_LABELS: Record<BackendName, string> = {
  'tensorflow-gpu': 'CUDA GPU (TensorFlow)',
  webgpu: 'GPU (WebGPU)',
  tensorflow: 'CPU (TensorFlow native)',
  native: 'CPU (native kernels)',
  wasm: 'CPU (WebAssembly)',
  cpu: 'CPU (JavaScript)',
};

/** The package that provides a backend, or null for the ones inside tfjs itself. */
export const BACKEND_PACKAGES: Record<BackendName, string | null> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: 'webgpu',
  tensorflow: '@tensorflow/tfjs-node',
  native: null,
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** True when a package resolves from here (without loading it). */
export function packageInstalled(pkg: string): boolean {
  try {
    resolveRequire.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** True when the package is installed with its native binding (its install downloads libtensorflow). */
export function tfjsNodeInstalled(pkg: string): boolean {
  let pkgJson: string;
  try {
    pkgJson = resolveRequire.resolve(`${pkg}/package.json`);
  } catch {
    return false;
  }
  const libDir = path.join(path.dirname(pkgJson), 'lib');
  try {
    return fs
      .readdirSync(libDir, { withFileTypes: true })
      .some((d) => d.isDirectory() && /^napi-v\d+$/.test(d.name) && fs.existsSync(path.join(libDir, d.name, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

export function backendInfo(name: BackendName, detail: string): BackendInfo {
  return { name, label: BACKEND_LABELS[name], detail };
}

/** A forced backend from FINETUNE_BACKEND, if set and valid (one this build can start). */
export function forcedBackend(env: NodeJS.ProcessEnv = process.env): BackendName | null {
  const v = readEnvironment(env).backend;
  if (v === null) return null;
  if (!(v in BACKEND_LABELS)) {
    throw new Error(`FINETUNE_BACKEND=${v} is not a backend; use one of ${Object.keys(BACKEND_LABELS).join(', ')}`);
  }
  return v as BackendName;
}

export function probeBackend(env: NodeJS.ProcessEnv = process.env): BackendInfo {
  const forced = forcedBackend(env);
  if (forced) return backendInfo(forced, `forced by FINETUNE_BACKEND=${forced}`);
  const skipped: string[] = [];
  if (tfjsNodeInstalled('@tensorflow/tfjs-node-gpu')) {
    return backendInfo('tensorflow-gpu', '@tensorflow/tfjs-node-gpu is installed (uses CUDA when a GPU and its libraries are present)');
  }
  skipped.push('tfjs-node-gpu is not installed');
  // Whether WebGPU has a real adapter is only known by asking the driver, in a worker
  // (features/gpu-probe.ts adds its answer to systemInfo); the trainer asks again when it starts.
  if (!packageInstalled('webgpu')) skipped.push('the webgpu package is not installed');
  if (tfjsNodeInstalled('@tensorflow/tfjs-node')) {
    return backendInfo('tensorflow', `@tensorflow/tfjs-node is installed (${skipped.join('; ')})`);
  }
  skipped.push('tfjs-node is not installed');
  if (!readEnvironment(env).nativeDisabled) {
    const addon = addonCandidates(env).find((p) => fs.existsSync(p));
    if (addon) return backendInfo('native', `the app's native CPU kernels are built (${skipped.join('; ')})`);
    skipped.push('the native kernels are not built');
  }
  return backendInfo('wasm', `the WebAssembly backend always installs (${skipped.join('; ')})`);
}
