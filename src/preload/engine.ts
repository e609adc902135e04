/**
 * The engine window's preload: it exposes nothing. It hands the one MessagePort the main process
 * sends (ENGINE_PORT_CHANNEL) to the page, the way Electron's docs do for a context-isolated page
 * (window.postMessage with the port in the transfer list); the page accepts it only from its own
 * window, and only once. The page never sees ipcRenderer.
 */
import { ipcRenderer } from 'electron';
import { ENGINE_PORT_CHANNEL, ENGINE_PORT_MESSAGE } from '../shared/engine-window';

// The preload is typed for Node (tsconfig.node.json); the page's window is the one global used.
const page = globalThis as unknown as { postMessage(message: unknown, targetOrigin: string, transfer: unknown[]): void };

ipcRenderer.once(ENGINE_PORT_CHANNEL, (event) => {
  page.postMessage(ENGINE_PORT_MESSAGE, '*', event.ports);
});
