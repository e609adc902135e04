/** Window hardening: sandbox, CSP, navigation, new windows, permissions and webviews. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, net, protocol, session, shell, type BrowserWindow, type WebPreferences } from 'electron';
import {
  APP_SCHEME,
  CONTENT_SECURITY_POLICY,
  isSafeExternalUrl,
  isTrustedUrl,
  resolveAppFile,
} from './security-policy';

/** Must run before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Serves the built renderer on app://finetune/ with the CSP; nothing outside rendererDir. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, rendererDir, path.sep);
    if (!file) return new Response('Not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).toString());
    if (!response.ok) return new Response('Not found', { status: 404 });
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: 200, headers });
  });
}

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
    navigateOnDragDrop: false,
  };
}

/** Session-wide: deny every permission (camera, notifications, geolocation...). */
export function hardenSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
}

/** Per-window: no new windows, no navigation away, no webviews. */
export function hardenWindow(win: BrowserWindow, devServerUrl?: string | null): void {
  const contents = win.webContents;
  contents.setWindowOpenHandler(({ url }) => {
    // External https links open in the user's browser; the app never opens a window itself.
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event, url) => {
    if (!isTrustedUrl(url, devServerUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isTrustedUrl(url, devServerUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame || !isTrustedUrl(event.url, devServerUrl)) event.preventDefault();
  });
}

/** Every other web contents (there should be none) gets the same treatment. */
export function hardenAllContents(devServerUrl?: string | null): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-navigate', (e, url) => {
      if (!isTrustedUrl(url, devServerUrl)) e.preventDefault();
    });
  });
}
