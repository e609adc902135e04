/** Electron main: app lifecycle, the one window, AppApi bound to IPC. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, nativeTheme } from 'electron';
import { createApp, type App } from './app';
import { bindIpc } from './ipc';
import { resolveDataDir } from './paths';
import { APP_ORIGIN } from './security-policy';
import { hardenAllContents, hardenSession, hardenWindow, registerAppScheme, secureWebPreferences, serveRenderer } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, '../renderer');
const preloadPath = path.join(here, '../preload/index.cjs');
// electron-vite sets this in `electron-vite dev` only.
const devServerUrl = !app.isPackaged ? (process.env.ELECTRON_RENDERER_URL ?? null) : null;

app.enableSandbox();
registerAppScheme();

let mainWindow: BrowserWindow | null = null;
let finetune: App | null = null;

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
          sqliteBinding: process.env.FINETUNE_SQLITE_BINDING || undefined,
          electronVersion: process.versions.electron,
        });
      } catch (err) {
        dialog.showErrorBox('Finetune Studio cannot start', err instanceof Error ? err.message : String(err));
        app.exit(1);
        return;
      }
      bindIpc(finetune, () => mainWindow, devServerUrl);
      mainWindow = createWindow();
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
