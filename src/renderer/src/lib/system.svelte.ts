/** What the app says about itself (backend, host, versions), loaded once and shared. */
import type { SystemInfo } from '../../../shared/types';
import type { AppError } from '../../../shared/errors';
import { api, toAppError } from './api';

class SystemStore {
  info = $state.raw<SystemInfo | null>(null);
  error = $state.raw<AppError | null>(null);
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= api.systemInfo().then(
      (i) => {
        this.info = i;
        this.askAgainWhileProbing(i);
      },
      (err) => {
        this.error = toAppError(err);
        this.loading = null;
      },
    );
    return this.loading;
  }

  private probes = 0;

  /** The host looks for a GPU in the background at start: ask again until it has answered. */
  private askAgainWhileProbing(i: SystemInfo): void {
    if (i.webgpu.state !== 'probing' || this.probes >= 30) return;
    this.probes++;
    setTimeout(() => {
      api.systemInfo().then(
        (next) => {
          this.info = next;
          this.askAgainWhileProbing(next);
        },
        () => undefined, // the first answer stays; the footer is not worth an error banner
      );
    }, 2000);
  }

  /** Native dialogs and "show in folder" exist only in the desktop app. */
  get desktop(): boolean {
    return this.info?.host === 'electron';
  }
}

export const system = new SystemStore();
