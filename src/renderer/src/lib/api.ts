/**
 * The renderer's one way to reach the app: window.api when the Electron preload provides it,
 * else a web client over the web host's HTTP + Server-Sent Events. Both satisfy RendererApi,
 * and every failure arrives as an AppError with a code and a message meant for people.
 */
import type { AppApi, AppEventListener, AppEventName, RendererApi } from '../../../shared/api';
import { AppError, type CallResult } from '../../../shared/errors';
import { rememberFileName, toAppError } from './app-error';

export { toAppError };

declare global {
  interface Window {
    api?: RendererApi;
  }
}

export function createWebClient(fetchImpl: typeof fetch = fetch.bind(globalThis)): RendererApi {
  const token = document.querySelector<HTMLMetaElement>('meta[name="finetune-token"]')?.content ?? '';
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

  return new Proxy({ on, pathForFile } as RendererApi, {
    get(target, prop) {
      if (prop === 'on') return target.on;
      if (prop === 'pathForFile') return target.pathForFile;
      if (typeof prop !== 'string') return undefined;
      return (...args: unknown[]) => call(prop, args);
    },
  });
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

export const api: RendererApi = normalised(typeof window !== 'undefined' && window.api ? window.api : createWebClient());
export type { AppApi };
