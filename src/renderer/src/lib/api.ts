/**
 * The renderer's one way to reach the app: window.api when the Electron preload provides it,
 * else a web client over the web host's HTTP + Server-Sent Events. Both satisfy RendererApi,
 * and every failure arrives as an AppError with a code and a message meant for people.
 */
import type { AppApi, AppEventListener, AppEventName, BridgeApi, ExportResult, RendererApi } from '../../../shared/api';
import { AppError, type CallResult } from '../../../shared/errors';
import { rememberFileName, toAppError } from './app-error';

export { toAppError };

declare global {
  interface Window {
    api?: BridgeApi;
  }
}

const TOKEN_KEY = 'finetune-token';

/**
 * The web host's API token. The page opened with the printed URL (?token=...) gets it in a meta
 * tag; it is kept in sessionStorage (scoped to this origin and tab) so that a reload, which the
 * host answers without the token, still works; and ?token= leaves the address bar (and the
 * history), so the URL on screen or in a screenshot does not carry it.
 */
export function takeWebToken(): string {
  if (typeof document === 'undefined') return '';
  const fromPage = document.querySelector<HTMLMetaElement>('meta[name="finetune-token"]')?.content ?? '';
  let token = fromPage;
  try {
    if (fromPage) sessionStorage.setItem(TOKEN_KEY, fromPage);
    else token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    // storage disabled: the token lives as long as the page
  }
  try {
    const url = new URL(location.href);
    if (url.searchParams.has('token')) {
      url.searchParams.delete('token');
      history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    }
  } catch {
    // not in a browser page
  }
  return token;
}

/** What the page does to hand a file to the user (a click on a download link). */
export interface DownloadOffer {
  url: string;
  filename: string;
  bytes: number;
}

export function createWebClient(fetchImpl: typeof fetch = fetch.bind(globalThis)): RendererApi & WebDownloads {
  const token = takeWebToken();
  let source: EventSource | null = null;
  const listeners = new Map<string, Set<(payload: unknown) => void>>();

  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetchImpl(`/api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-finetune-token': token },
        body: JSON.stringify(args),
      });
    } catch {
      throw new AppError('network', 'Cannot reach Finetune Studio. Is the web host still running? Start it again and reload.');
    }
    let result: CallResult<unknown>;
    try {
      result = (await response.json()) as CallResult<unknown>;
    } catch {
      throw new AppError('internal', `The web host answered ${response.status} without a readable body.`);
    }
    if (result.ok) return result.value;
    throw AppError.fromData(result.error);
  };

  const ensureSource = (): EventSource => {
    if (!source) source = new EventSource('/api/events');
    return source;
  };

  const on = <K extends AppEventName>(event: K, listener: AppEventListener<K>): (() => void) => {
    const es = ensureSource();
    let set = listeners.get(event);
    if (!set) {
      set = new Set();
      listeners.set(event, set);
      es.addEventListener(event, (e) => {
        const payload = JSON.parse((e as MessageEvent<string>).data) as unknown;
        for (const l of listeners.get(event) ?? []) l(payload);
      });
    }
    const l = listener as (payload: unknown) => void;
    set.add(l);
    return () => set!.delete(l);
  };

  /** The browser cannot give a file's path: the file is uploaded into the data folder. */
  const pathForFile = async (file: File): Promise<string> => {
    let response: Response;
    try {
      response = await fetchImpl(`/api/upload?name=${encodeURIComponent(file.name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-finetune-token': token },
        body: file,
      });
    } catch {
      throw new AppError('network', `Could not upload ${file.name}: is the web host still running?`);
    }
    const result = (await response.json()) as CallResult<string>;
    if (result.ok) return result.value;
    throw AppError.fromData(result.error);
  };

  /** Asks the host for a one-time link to an export or prediction file, then lets the browser download it. */
  const downloadResult = async (result: ExportResult): Promise<DownloadOffer> => {
    let response: Response;
    try {
      response = await fetchImpl('/api/download', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-finetune-token': token },
        body: JSON.stringify({ path: result.path }),
      });
    } catch {
      throw new AppError('network', 'Cannot reach Finetune Studio to download the file. Is the web host still running?');
    }
    const answer = (await response.json()) as CallResult<DownloadOffer>;
    if (!answer.ok) throw AppError.fromData(answer.error);
    const a = document.createElement('a');
    a.href = answer.value.url;
    a.download = answer.value.filename;
    a.rel = 'noopener';
    a.style.display = 'none';
    document.body.appendChild(a);
    a.click();
    a.remove();
    return answer.value;
  };

  const own = { on, pathForFile, downloadResult };
  return new Proxy(own as unknown as RendererApi & WebDownloads, {
    get(target, prop) {
      if (prop === 'on' || prop === 'pathForFile' || prop === 'downloadResult') return own[prop];
      if (prop === 'then') return undefined; // not a thenable
      if (typeof prop !== 'string') return undefined;
      return (...args: unknown[]) => call(prop, args);
    },
  });
}

/** The browser host's extra: downloads of what exportRun / predictFile produced. */
export interface WebDownloads {
  downloadResult(result: ExportResult): Promise<DownloadOffer>;
}

/** Wraps an api so that every rejection is an AppError. */
function normalised(inner: RendererApi): RendererApi {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'on' || typeof value !== 'function') return value;
      if (prop === 'pathForFile')
        return (file: File) =>
          (value as (f: File) => Promise<string>)(file).then(
            (path) => {
              // Messages about an upload name the user's file, not the stored copy.
              rememberFileName(path, file.name);
              return path;
            },
            (err: unknown) => Promise.reject(toAppError(err)),
          );
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          throw toAppError(err);
        }
      };
    },
  });
}

/**
 * The Electron preload's window.api as a RendererApi: each call's CallResult becomes its value, or
 * a typed AppError (code, message, field) — nothing is parsed out of message text.
 */
export function fromBridge(bridge: BridgeApi): RendererApi {
  return new Proxy(bridge, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'on' || typeof value !== 'function') return value;
      if (prop === 'pathForFile')
        return async (file: File) => {
          const path = await (value as (f: File) => Promise<string>).call(target, file);
          if (!path) throw new AppError('invalid_input', 'This file has no path on disk; save it to a folder first.');
          return path;
        };
      return async (...args: unknown[]) => {
        const result = (await (value as (...a: unknown[]) => Promise<CallResult<unknown>>).apply(target, args)) as CallResult<unknown>;
        if (result.ok) return result.value;
        throw AppError.fromData(result.error);
      };
    },
  }) as unknown as RendererApi;
}

const electronApi = typeof window !== 'undefined' && window.api ? fromBridge(window.api) : null;
const webClient = electronApi ? null : createWebClient();

export const api: RendererApi = normalised(electronApi ?? webClient!);

/**
 * True in the browser host, where an export or a predictions file is handed to the user as a
 * download; false in Electron, where the user gets the path and "Show in folder".
 */
export const downloadsOffered: boolean = webClient !== null;

/**
 * Call after exportRun / predictFile succeeds. In the browser host the file is downloaded (a
 * Hugging Face folder or a recipe as a .zip, predictions as .csv, named after the user's file
 * and the run) and its name is returned; in Electron nothing happens and null is returned (keep
 * showing the path with "Show in folder").
 */
export async function offerDownload(result: ExportResult): Promise<DownloadOffer | null> {
  if (!webClient) return null;
  try {
    return await webClient.downloadResult(result);
  } catch (err) {
    throw toAppError(err);
  }
}
export type { AppApi };
