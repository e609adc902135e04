/**
 * The preload bridge: exposes exactly AppApi (one function per method) plus event subscription
 * as window.api. The renderer never sees ipcRenderer.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AppEventName, AppEvents, RendererApi } from '../shared/api';
import type { CallResult } from '../shared/errors';

const EVENT_CHANNEL = 'api:event';

class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

async function call<T>(method: string, ...args: unknown[]): Promise<T> {
  const result = (await ipcRenderer.invoke(`api:${method}`, ...args)) as CallResult<T>;
  if (result.ok) return result.value;
  // contextBridge copies only the message of a thrown Error; the code travels in it as a prefix
  // that the renderer's client parses back (see renderer/src/lib/api.ts).
  throw new BridgeError(result.error.code, `[${result.error.code}] ${result.error.message}`, result.error.field);
}

const api = {
  systemInfo: () => call('systemInfo'),
  listRuns: () => call('listRuns'),
  getRun: (id: string) => call('getRun', id),
  renameRun: (id: string, name: string) => call('renameRun', id, name),
  deleteRun: (id: string) => call('deleteRun', id),
  on<K extends AppEventName>(event: K, listener: (payload: AppEvents[K]) => void): () => void {
    const handler = (_e: IpcRendererEvent, name: string, payload: unknown): void => {
      if (name === event) listener(payload as AppEvents[K]);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
} satisfies RendererApi;

contextBridge.exposeInMainWorld('api', api);
