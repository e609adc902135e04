/**
 * Binds AppApi to ipcMain: one handler per method, each checking that the sender is the top
 * frame of our own page before validating and dispatching. Events go to the window.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import type { CallResult } from '../shared/errors';
import { API_METHODS } from '../shared/schema';
import type { App } from './app';
import { dispatch } from './dispatch';
import { isTrustedSender } from './security-policy';

export const IPC_CALL_PREFIX = 'api:';
export const IPC_EVENT_CHANNEL = 'api:event';

export function bindIpc(app: App, getWindow: () => BrowserWindow | null, devServerUrl?: string | null): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(`${IPC_CALL_PREFIX}${method}`, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      if (!isTrustedSender(event.senderFrame, devServerUrl)) {
        const refused: CallResult<never> = {
          ok: false,
          error: { code: 'invalid_input', message: `${method}: refused, the call did not come from the app's own page.` },
        };
        return refused;
      }
      return dispatch(app.api, method, args);
    });
  }
  const unsubscribe = app.events.onAny((name, payload) => {
    const win = getWindow();
    if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload);
  });
  return () => {
    unsubscribe();
    for (const method of API_METHODS) ipcMain.removeHandler(`${IPC_CALL_PREFIX}${method}`);
  };
}
