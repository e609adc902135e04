/** systemInfo, task cancellation and the host's own dialogs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { AppApi } from '../../shared/api';
import type { RunConcurrency } from '../../shared/types';
import { probeBackend } from '../engine/backend';
import { APP_VERSION } from '../version';
import type { AppContext } from './context';
import { backendWithWebGpu, WebGpuProbe, webGpuNote } from './gpu-probe';

/** Two runs at once are allowed; they share the machine. */
export const RUN_CONCURRENCY: RunConcurrency = {
  mode: 'parallel',
  note: 'Several runs can train at once (from this window, another window or `finetune train`). Each has its own trainer process, and they share the CPU/GPU and memory, so each one trains more slowly.',
};

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * showInFolder opens only what the app owns: a path inside the data folder, or a file or folder
 * the app wrote (an export, a predictions CSV: recorded as a run artifact) or inside one. Any
 * other path a renderer sends is refused, so a compromised page cannot make the shell open it.
 */
export function showablePath(ctx: Pick<AppContext, 'dataDir' | 'runs'>, requested: string): string {
  if (typeof requested !== 'string' || requested === '' || requested.includes('\0') || !path.isAbsolute(requested)) {
    throw new AppError('invalid_input', 'Only files and folders of Finetune Studio can be shown in the file manager.', 'path');
  }
  const p = path.resolve(requested);
  const real = (q: string): string => {
    try {
      return fs.realpathSync(q);
    } catch {
      return q;
    }
  };
  const dataDir = real(path.resolve(ctx.dataDir));
  if (isInside(real(p), dataDir)) return p;
  for (let q = p; ; q = path.dirname(q)) {
    if (ctx.runs.isArtifactPath(q)) return p;
    if (path.dirname(q) === q) break;
  }
  throw new AppError('invalid_input', `${p} is not a file or folder Finetune Studio wrote, so it is not shown; open it from your file manager.`, 'path');
}

function unsupported(what: string): AppError {
  return new AppError('unsupported', `${what} is only available in the desktop app; in the browser, use the file picker or type the path.`);
}

export function systemApi(ctx: AppContext): Pick<AppApi, 'systemInfo' | 'cancelTask' | 'chooseFile' | 'chooseFolder' | 'showInFolder'> {
  const gpu = new WebGpuProbe(ctx.workers, ctx.host !== 'cli', ctx.webGpuProbe);
  return {
    async systemInfo() {
      const cpus = os.cpus();
      const webgpu = gpu.current();
      const chosen = probeBackend();
      const note = webGpuNote(webgpu);
      const backend = backendWithWebGpu(note && !/^forced by /.test(chosen.detail) ? { ...chosen, detail: `${chosen.detail}; ${note}` } : chosen, webgpu);
      return {
        appVersion: APP_VERSION,
        dataDir: ctx.dataDir,
        host: ctx.host,
        backend,
        webgpu,
        cpuCount: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        totalMemoryBytes: os.totalmem(),
        freeMemoryBytes: os.freemem(),
        platform: process.platform,
        arch: process.arch,
        nodeVersion: process.versions.node,
        electronVersion: ctx.electronVersion ?? process.versions.electron ?? null,
        runConcurrency: RUN_CONCURRENCY,
        activeRunIds: ctx.runs.unfinished().map((r) => r.id),
        startupNotices: ctx.startupNotices,
      };
    },
    async cancelTask(taskId) {
      ctx.tasks.cancel(taskId);
    },
    async chooseFile(purpose) {
      if (!ctx.capabilities.chooseFile) throw unsupported('The file dialog');
      return ctx.capabilities.chooseFile(purpose);
    },
    async chooseFolder(purpose) {
      if (!ctx.capabilities.chooseFolder) throw unsupported('The folder dialog');
      return ctx.capabilities.chooseFolder(purpose);
    },
    async showInFolder(p) {
      if (!ctx.capabilities.showInFolder) throw unsupported('Showing files in the file manager');
      return ctx.capabilities.showInFolder(showablePath(ctx, p));
    },
  };
}
