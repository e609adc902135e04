/**
 * The one string the engine window's preload and page share: the message the preload posts into
 * the page (window.postMessage) with the MessagePort from the main process in its `ports`.
 * Here because both src/preload and src/main/engine read it and neither may import the other.
 */
export const ENGINE_PORT_MESSAGE = 'finetune:engine-port';

/** The IPC channel on which Electron's main hands the port to the engine window's preload. */
export const ENGINE_PORT_CHANNEL = 'engine:port';
