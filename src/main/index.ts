/** Electron main: app lifecycle, the one window, AppApi bound to IPC. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, nativeTheme, shell, utilityProcess } from 'electron';
import { createApp, type App } from './app';
import type { HostCapabilities } from './features/context';
import type { WorkerLauncher } from './training/launcher';
import type { ParentMessage, WorkerMessage } from './engine/protocol';
import { bindIpc } from './ipc';
import { resolveDataDir } from './paths';
import { environment } from './environment';
import { APP_ORIGIN } from './security-policy';
import { openEngineWindow, probeEngineWindowAdapter, type EngineWindow } from './engine-window';
import { adapterStatus, engineWindowWanted, webGpuOptIn, webGpuSwitches, type EngineWindowJob } from './engine-window-policy';
import { forcedBackend, probeBackend } from './engine/backend';
import type { WebGpuStatus } from '../shared/types';
import { hardenAllContents, hardenSession, hardenWindow, registerAppScheme, secureWebPreferences, serveRenderer } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, '../renderer');
const preloadPath = path.join(here, '../preload/index.cjs');
const enginePreloadPath = path.join(here, '../preload/engine.cjs');
// electron-vite sets this in `electron-vite dev` only.
const devServerUrl = !app.isPackaged ? (process.env.ELECTRON_RENDERER_URL ?? null) : null;

app.enableSandbox();
registerAppScheme();
// WebGPU for the engine window. macOS and Windows have it without switches. On Linux it is behind
// switches that must be set before 'ready' and apply to every renderer (Vulkan compositing for the
// main window too), so they are opt-in: `--webgpu` on the app's command line (`npm start --
// --webgpu`), `--webgpu=software` or FINETUNE_BACKEND=webgpu to accept SwiftShader as well. Without
// them systemInfo's note says how to turn it on, and a resumed run recorded on webgpu fails saying
// so (engine/window-route.ts windowWithoutWebGpu).
const webGpu = webGpuOptIn(process.argv, forcedBackend());
if (webGpu.on) for (const [name, value] of webGpuSwitches(process.platform, webGpu.software)) app.commandLine.appendSwitch(name, value);

/**
 * systemInfo's GPU probe in the desktop app: Chromium's adapter as a hidden engine window sees it
 * (probeEngineWindowAdapter), asked once after 'ready' in the background (Dawn cannot run in the
 * utility process). Its answer also decides whether a job with no backend named trains in an
 * engine window (gpuStatus; a job that starts before it answers waits for it). Not asked when
 * FINETUNE_BACKEND names a backend. UNVERIFIED in real Electron.
 */
let gpuStatus: WebGpuStatus | null = null;
let gpuQuery: Promise<WebGpuStatus> | null = null;
function windowGpuProbe(): Promise<WebGpuStatus> {
  gpuQuery ??= probeEngineWindowAdapter(enginePreloadPath).then((answer) => (gpuStatus = adapterStatus(answer, { platform: process.platform, webGpuOn: webGpu.on })));
  return gpuQuery;
}

let mainWindow: BrowserWindow | null = null;
let finetune: App | null = null;

/**
 * The engine worker as an Electron utilityProcess: a crash or out-of-memory there leaves the app running.
 * A job that runs a model (training, predictions, batch prediction, the try-it box) and asks for
 * WebGPU, or names no backend on a machine where the probe window found a real GPU, gets a hidden
 * engine window first (lazily, when its 'start' is sent;
 * engine-window-policy.ts engineWindowWanted; a job with no backend named that starts while the
 * probe is still asking waits for its answer): the port reaches the worker before the job,
 * and the window closes when the worker exits. UNVERIFIED in real Electron (it cannot launch here);
 * the worker's side and the page are tested without it (test/engine-window/).
 */
const utilityLauncher: WorkerLauncher = (entry, env) => {
  const child = utilityProcess.fork(entry, [], { serviceName: 'Finetune Studio trainer', env, stdio: 'inherit' });
  let engineWindow: EngineWindow | null = null;
  let exited = false;
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  child.on('exit', (code) => {
    exited = true;
    for (const l of exitListeners) l(code, null);
  });
  /** Whether a 'start' needs an engine window; a job with no backend named waits for the GPU probe if it is still asking. */
  const wantsWindow = async (job: EngineWindowJob): Promise<boolean> => {
    const decision = { forced: forcedBackend(env), gpu: gpuStatus, localBackend: probeBackend(env).name };
    if (gpuStatus === null && gpuQuery && engineWindowWanted(job, { ...decision, gpu: { state: 'found', label: '' } })) {
      decision.gpu = await gpuQuery.catch((): WebGpuStatus | null => null);
    }
    return engineWindowWanted(job, decision);
  };
  /** Opens the window and hands the worker its port; when it cannot load, logs why and closes it. */
  const connectWindow = async (): Promise<void> => {
    const win = (engineWindow = openEngineWindow(enginePreloadPath));
    try {
      await win.connect(child);
    } catch (err) {
      // The job goes without a port: the worker runs it on its own backend, never Dawn there (one
      // that names webgpu fails, saying why: engine/window-route.ts localBackendPlan).
      console.error(`the engine window did not open: ${err instanceof Error ? err.message : String(err)}`);
      win.close();
    }
  };
  // Messages go to the child in the order sent: a 'start' that waits for the probe or the window
  // holds the ones after it (a cancel) until it has gone, after the port.
  let queue: Promise<void> = Promise.resolve();
  return {
    pid: child.pid,
    send: (m: ParentMessage) => {
      queue = queue
        .then(async () => {
          if (exited) return;
          if (m.type === 'start' && !engineWindow && (await wantsWindow(m.job)) && !exited) await connectWindow();
          if (!exited) child.postMessage(m);
        })
        .catch((err: unknown) => console.error(`could not send '${m.type}' to the engine worker: ${err instanceof Error ? err.message : String(err)}`));
    },
    onMessage: (l) => child.on('message', (m: unknown) => l(m as WorkerMessage)),
    onExit: (l) => exitListeners.push(l),
    kill: () => {
      if (!exited) child.kill();
    },
  };
};

const FILE_FILTERS = [
  { name: 'Text data', extensions: ['csv', 'tsv', 'txt', 'jsonl', 'json'] },
  { name: 'All files', extensions: ['*'] },
];

const capabilities: HostCapabilities = {
  async chooseFile(purpose) {
    const win = mainWindow ?? undefined;
    const title = purpose === 'dataset' ? 'Choose a file of labelled texts' : 'Choose a file of texts to classify';
    const r = win ? await dialog.showOpenDialog(win, { title, properties: ['openFile'], filters: FILE_FILTERS }) : await dialog.showOpenDialog({ title, properties: ['openFile'], filters: FILE_FILTERS });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  },
  async chooseFolder(purpose) {
    const title = purpose === 'model' ? 'Choose a model folder (with config.json)' : 'Choose where to export';
    const props: ('openDirectory' | 'createDirectory')[] = purpose === 'export' ? ['openDirectory', 'createDirectory'] : ['openDirectory'];
    const r = mainWindow ? await dialog.showOpenDialog(mainWindow, { title, properties: props }) : await dialog.showOpenDialog({ title, properties: props });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  },
  async showInFolder(p) {
    shell.showItemInFolder(p);
  },
};

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: 'Finetune Studio',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#15171c' : '#f7f7f5',
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(preloadPath),
  });
  hardenWindow(win, devServerUrl);
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(devServerUrl ?? `${APP_ORIGIN}/index.html`);
  return win;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  app.whenReady().then(
    () => {
      hardenSession();
      hardenAllContents(devServerUrl);
      serveRenderer(rendererDir);
      try {
        finetune = createApp({
          dataDir: resolveDataDir(app.getPath('userData')),
          host: 'electron',
          sqliteBinding: environment().sqliteBinding ?? undefined,
          electronVersion: process.versions.electron,
          launcher: utilityLauncher,
          workerEntry: path.join(here, 'trainer.js'),
          dataWorkerEntry: path.join(here, 'data-worker.js'),
          capabilities,
          webGpuProbe: windowGpuProbe,
        });
      } catch (err) {
        dialog.showErrorBox('Finetune Studio cannot start', err instanceof Error ? err.message : String(err));
        app.exit(1);
        return;
      }
      bindIpc(finetune, () => mainWindow, devServerUrl);
      mainWindow = createWindow();
      // In the background: the footer and the launcher's decision need it; a forced backend skips it.
      if (!forcedBackend()) void windowGpuProbe();
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
      });
    },
    (err) => {
      console.error(err);
      app.exit(1);
    },
  );

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('will-quit', () => {
    finetune?.close();
  });
}
