/**
 * The rules the Electron window enforces, as plain functions (no electron import) so that tests
 * can throw hostile URLs and senders at them.
 */

/** The renderer is served from this privileged custom scheme, never file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'finetune';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** Content Security Policy for every renderer page: nothing remote, no eval, no plugins, no frames. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Svelte sets style attributes (bar widths, chart sizes); no remote or injected stylesheets.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * True only for pages of our own renderer: app://finetune/... or, in development, the exact
 * origin of electron-vite's dev server on loopback.
 */
export function isTrustedUrl(url: string, devServerUrl?: string | null): boolean {
  const u = parse(url);
  if (!u) return false;
  if (u.username || u.password) return false;
  if (u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST) return true;
  if (devServerUrl) {
    const dev = parse(devServerUrl);
    if (dev && (dev.hostname === 'localhost' || dev.hostname === '127.0.0.1') && u.origin === dev.origin) return true;
  }
  return false;
}

/** The parts of an Electron IPC sender frame the check reads. */
export interface SenderFrameLike {
  url: string;
  /** The top frame of the page; the sender must be it (no iframes). */
  top?: SenderFrameLike | null;
}

export function isTrustedSender(frame: SenderFrameLike | null | undefined, devServerUrl?: string | null): boolean {
  if (!frame) return false;
  if (frame.top && frame.top !== frame) return false;
  return isTrustedUrl(frame.url, devServerUrl);
}

/** Links the app may hand to the system browser: https only, no credentials. */
export function isSafeExternalUrl(url: string): boolean {
  const u = parse(url);
  return !!u && u.protocol === 'https:' && !u.username && !u.password && u.hostname.length > 0;
}

/**
 * Maps a request for app://finetune/<path> to a file under rootDir, or null when the path is
 * outside it (traversal, encoded separators, NUL bytes, another host).
 */
export function resolveAppFile(requestUrl: string, rootDir: string, sep = '/'): string | null {
  const u = parse(requestUrl);
  if (!u || u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const parts: string[] = [];
  for (const part of pathname.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return null;
    parts.push(part);
  }
  if (parts.length === 0) parts.push('index.html');
  const root = rootDir.endsWith(sep) ? rootDir.slice(0, -1) : rootDir;
  return root + sep + parts.join(sep);
}
