/** systemInfo, task cancellation and the host's own dialogs. */
import os from 'node:os';
import { AppError } from '../../shared/errors';
import type { AppApi } from '../../shared/api';
import { probeBackend } from '../engine/backend';
import { APP_VERSION } from '../version';
import type { AppContext } from './context';

function unsupported(what: string): AppError {
  return new AppError('unsupported', `${what} is only available in the desktop app; in the browser, use the file picker or type the path.`);
}

export function systemApi(ctx: AppContext): Pick<AppApi, 'systemInfo' | 'cancelTask' | 'chooseFile' | 'chooseFolder' | 'showInFolder'> {
  return {
    async systemInfo() {
      const cpus = os.cpus();
      return {
        appVersion: APP_VERSION,
        dataDir: ctx.dataDir,
        host: ctx.host,
        backend: probeBackend(),
        cpuCount: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        totalMemoryBytes: os.totalmem(),
        freeMemoryBytes: os.freemem(),
        platform: process.platform,
        arch: process.arch,
        nodeVersion: process.versions.node,
        electronVersion: ctx.electronVersion ?? process.versions.electron ?? null,
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
      return ctx.capabilities.showInFolder(p);
    },
  };
}
