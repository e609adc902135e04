/**
 * Turning what the user typed ("roberta-base", "google/bert_uncased_L-4_H-256_A-4", "./my-model")
 * into a model folder: a local folder passes through after inspection; a Hub id is downloaded
 * into (or found in) the Hugging Face cache. Offline (HF_HUB_OFFLINE=1 or the option), only the
 * cache is used, and an uncached model gets a message saying what to do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { DownloadProgress, ResolvedModel } from '../../shared/models';
import { hubIdSchema, looksLikeLocalPath, revisionSchema } from '../../shared/models-schema';
import { findCachedSnapshot, readRef, snapshotDir } from './cache';
import { downloadModel, hubConnection, HubUnreachableError, type DownloadOptions } from './download';
import { assertImportable, inspectModelFolder } from '../hf/inspect';

export interface ResolveOptions {
  /** Use only the cache. Default: HF_HUB_OFFLINE (1/true/yes/on). */
  offline?: boolean;
  token?: string;
  revision?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  hubUrl?: string;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Passed to downloadModel (tests). */
  download?: Pick<DownloadOptions, 'stallTimeoutMs' | 'retries' | 'retryDelayMs' | 'progressIntervalMs'>;
}

export function isOfflineEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(env.HF_HUB_OFFLINE?.trim() ?? '') || /^(1|true|yes|on)$/i.test(env.TRANSFORMERS_OFFLINE?.trim() ?? '');
}

export async function resolveModel(idOrPath: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const ref = idOrPath.trim();
  if (!ref) throw new AppError('invalid_input', 'a model is required: a Hub id such as "roberta-base" or a model folder', 'model');

  // A local folder: given as a path, or any existing folder of that name.
  const local = path.resolve(ref);
  if (looksLikeLocalPath(ref) || (fs.existsSync(local) && fs.statSync(local).isDirectory())) {
    if (!fs.existsSync(local)) throw new AppError('not_found', `${local}: no such folder. Give a model folder (with config.json) or a Hub id such as "roberta-base".`, 'model');
    const report = await inspectModelFolder(local);
    assertImportable(report);
    return { dir: report.dir, id: report.dir, revision: null, fromCache: true, note: null };
  }

  const parsedId = hubIdSchema.safeParse(ref);
  if (!parsedId.success) {
    throw new AppError('invalid_input', `"${ref}" is neither a folder nor a Hub model id: ${parsedId.error.issues[0]?.message ?? 'invalid id'}`, 'model');
  }
  const repo = parsedId.data;
  let revision = 'main';
  if (options.revision !== undefined) {
    const r = revisionSchema.safeParse(options.revision);
    if (!r.success) throw new AppError('invalid_input', `revision: ${r.error.issues[0]?.message ?? 'invalid'}`, 'revision');
    revision = r.data;
  }
  const env = options.env ?? process.env;
  const offline = options.offline ?? isOfflineEnv(env);
  const conn = hubConnection({ token: options.token, hubUrl: options.hubUrl, cacheDir: options.cacheDir, env });
  const cached = findCachedSnapshot(conn.cacheDir, repo, revision);

  if (offline) {
    if (cached) return { dir: cached.dir, id: repo, revision: cached.commit, fromCache: true, note: 'offline: using the cached snapshot' };
    const commit = readRef(conn.cacheDir, repo, revision);
    const partial = commit && fs.existsSync(snapshotDir(conn.cacheDir, repo, commit));
    throw new AppError(
      'not_found',
      `${repo}${revision === 'main' ? '' : `@${revision}`} is ${partial ? 'only partly' : 'not'} in the Hugging Face cache (${conn.cacheDir}) and the app is offline. ` +
        `Connect and run "finetune models download ${repo}" (or download it in the app), or unset HF_HUB_OFFLINE; a model folder can also be given by its path.`,
      'model',
    );
  }

  try {
    const result = await downloadModel(repo, {
      revision,
      token: options.token,
      hubUrl: options.hubUrl,
      cacheDir: conn.cacheDir,
      env,
      onProgress: options.onProgress,
      signal: options.signal,
      ...options.download,
    });
    return { dir: result.dir, id: repo, revision: result.commit, fromCache: result.downloadedBytes === 0, note: null };
  } catch (err) {
    // The Hub is out of reach: a complete cached snapshot still works (as transformers falls back).
    if (err instanceof HubUnreachableError && cached) {
      return { dir: cached.dir, id: repo, revision: cached.commit, fromCache: true, note: `${err.message}; using the cached snapshot ${cached.commit.slice(0, 8)}` };
    }
    throw err;
  }
}
