/**
 * The one string the engine window's preload and page share: the message the preload posts into
 * the page (window.postMessage) with the MessagePort from the main process in its `ports`.
 * Here because both src/preload and src/main/engine read it and neither may import the other.
 */
export const ENGINE_PORT_MESSAGE = 'finetune:engine-port';

/** The IPC channel on which Electron's main hands the port to the engine window's preload. */
export const ENGINE_PORT_CHANNEL = 'engine:port';

/** The command-line flag that turns Chromium's WebGPU on in the desktop app on Linux (`npm start -- --webgpu`). */
export const WEBGPU_FLAG = '--webgpu';

/** What the person can do on Linux to get WebGPU in the desktop app (systemInfo's note, a resumed run's failure). */
export const LINUX_WEBGPU_HINT = `on Linux the desktop app turns WebGPU on only when asked: quit it and start it with "npm start -- ${WEBGPU_FLAG}" (or "finetune-studio ${WEBGPU_FLAG}"), which also makes Chromium use Vulkan for every window`;
