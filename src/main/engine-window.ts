/**
 * Electron main: the hidden engine window, where Chromium's WebGPU trains (see
 * engine-window-policy.ts for why and for the rules it applies). One window per engine worker:
 * connect() hands one end of a MessageChannelMain to the utility process and the other to the
 * window's preload, which passes it to the page; the page serves the engine-window protocol on it.
 * The window is destroyed when the utility process exits; if its renderer dies, the utility
 * process is told (its calls then fail, saying why).
 *
 * index.ts opens one for a training job that wants WebGPU (engine-window-policy.ts
 * engineWindowWanted); the worker trains through it (engine/window-route.ts, Trainer's remote
 * engine). At start, index.ts opens one more, probeEngineWindowAdapter, to ask which adapter
 * Chromium gives (systemInfo's GPU probe in Electron), and closes it.
 *
 * Untested in real Electron (it cannot launch here): the page itself is tested in Chromium
 * (test/engine-window/engine-window.test.ts, remote-trainer-chromium.test.ts), the trainer's side in
 * Node (remote-trainer.test.ts), the rules in test/security/engine-window-policy.test.ts.
 */
import { BrowserWindow, MessageChannelMain, type UtilityProcess } from 'electron';
import { ENGINE_PORT_CHANNEL } from '../shared/engine-window';
import { EngineWindowClient } from './engine/window-client';
import type { AdapterAnswer } from './engine/window-protocol';
import { clientPortOf, type MessagePortMainLike } from './engine/window-route';
import {
  allowEngineNavigation,
  allowEngineWindowOpen,
  ENGINE_WINDOW_URL,
  engineWindowGoneMessage,
  engineWindowOptions,
  type EngineWindowNotice,
} from './engine-window-policy';

export interface EngineWindow {
  /** Gives the utility process its port to this window (once the page has loaded). */
  connect(child: UtilityProcess): Promise<void>;
  /**
   * Asks the page which WebGPU adapter Chromium gives it ('adapter', window-protocol.ts), on a
   * port main keeps, instead of connect(): the page serves one port, so a window that answered
   * this is closed afterwards, not handed to a worker.
   */
  adapter(timeoutMs: number): Promise<AdapterAnswer>;
  close(): void;
}

/**
 * Opens the hidden window on app://finetune/engine-window/index.html. Permissions are the default
 * session's (hardenSession denies them all; WebGPU needs none).
 */
export function openEngineWindow(preloadPath: string): EngineWindow {
  const win = new BrowserWindow(engineWindowOptions(preloadPath));
  const contents = win.webContents;
  contents.setWindowOpenHandler(({ url }) => ({ action: allowEngineWindowOpen(url) ? 'allow' : 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!allowEngineNavigation(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!allowEngineNavigation(url)) event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame || !allowEngineNavigation(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  const loaded = win.loadURL(ENGINE_WINDOW_URL);
  let child: UtilityProcess | null = null;
  contents.on('render-process-gone', (_event, details) => {
    const notice: EngineWindowNotice = { type: 'engine-window-gone', reason: engineWindowGoneMessage(details.reason, details.exitCode) };
    child?.postMessage(notice);
  });
  const close = (): void => {
    if (!win.isDestroyed()) win.destroy();
  };
  return {
    async connect(c) {
      if (child) throw new Error('the engine window is already connected to an engine worker');
      child = c;
      c.once('exit', close);
      await loaded;
      const { port1, port2 } = new MessageChannelMain();
      contents.postMessage(ENGINE_PORT_CHANNEL, null, [port2]);
      const notice: EngineWindowNotice = { type: 'engine-port' };
      c.postMessage(notice, [port1]);
    },
    async adapter(timeoutMs) {
      if (child) throw new Error('the engine window is connected to an engine worker');
      await loaded;
      const { port1, port2 } = new MessageChannelMain();
      contents.postMessage(ENGINE_PORT_CHANNEL, null, [port2]);
      const port = port1 as unknown as MessagePortMainLike & { close(): void };
      const client = new EngineWindowClient(clientPortOf(port), { timeoutMs });
      port.start();
      try {
        return await client.adapter();
      } finally {
        client.close('the adapter query is done');
        port.close();
      }
    },
    close,
  };
}

/**
 * systemInfo's GPU probe in Electron (Dawn cannot run in the utility process): a hidden engine
 * window is opened once, asked for Chromium's adapter, and closed. A window that cannot load or
 * does not answer within timeoutMs gives a 'failed' answer saying why. UNVERIFIED in real
 * Electron (it cannot launch here); the page's answer is tested in Chromium
 * (test/engine-window/adapter-chromium.test.ts) and turned into a status by
 * engine-window-policy.ts adapterStatus (unit-tested).
 */
export async function probeEngineWindowAdapter(preloadPath: string, timeoutMs = 60_000): Promise<AdapterAnswer> {
  let win: EngineWindow | null = null;
  try {
    win = openEngineWindow(preloadPath);
    return await win.adapter(timeoutMs);
  } catch (err) {
    return { ok: false, why: 'failed', reason: `the engine window did not answer (${err instanceof Error ? err.message : String(err)})` };
  } finally {
    win?.close();
  }
}
