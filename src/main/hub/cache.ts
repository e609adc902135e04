/**
 * The Hugging Face cache, in the layout huggingface_hub (Python) and @huggingface/hub use, so a
 * model downloaded by either is reused by the other:
 *
 *   <cache>/models--<org>--<name>/
 *     blobs/<etag>                 file contents, named by the LFS sha256 or the git blob sha1
 *     blobs/<etag>.incomplete      a download in progress (resumed with HTTP Range)
 *     snapshots/<commit>/<path>    relative symlinks into blobs/ (copies where links fail)
 *     refs/<revision>              the commit hash a branch or tag pointed to
 *
 * <cache> is HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, else
 * XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (Python's precedence).
 * A file appears under snapshots/ only once its blob is complete and verified, and only by an
 * atomic rename, so a crash never leaves a half-written file there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renameWithRetry, writeFileAtomic } from '../fsutil';
import { detectTokenizerSource } from '../hf/tokenizer-convert';
import { detectWeights } from '../hf/weights';

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.HF_HUB_CACHE?.trim() || env.HUGGINGFACE_HUB_CACHE?.trim();
  if (fromEnv) return path.resolve(expandHome(fromEnv));
  const home = env.HF_HOME?.trim();
  if (home) return path.join(path.resolve(expandHome(home)), 'hub');
  const xdg = env.XDG_CACHE_HOME?.trim();
  return path.join(xdg ? path.resolve(expandHome(xdg)) : path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') || p.startsWith('~\\') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** models--org--name (as getRepoFolderName in @huggingface/hub and repo_folder_name in Python). */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

export function repoDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, repoFolderName(repo));
}

export function snapshotDir(cacheDir: string, repo: string, commit: string): string {
  return path.join(repoDir(cacheDir, repo), 'snapshots', commit);
}

export function blobPath(cacheDir: string, repo: string, etag: string): string {
  return path.join(repoDir(cacheDir, repo), 'blobs', etag);
}

/** The commit a revision points to in the cache: itself for a commit hash, else refs/<revision>. */
export function readRef(cacheDir: string, repo: string, revision: string): string | null {
  if (COMMIT_HASH.test(revision)) return revision;
  const file = path.join(repoDir(cacheDir, repo), 'refs', revision);
  try {
    const commit = fs.readFileSync(file, 'utf8').trim();
    return COMMIT_HASH.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** Records that a branch or tag points to a commit (refs/<revision>), atomically. */
export function writeRef(cacheDir: string, repo: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const file = path.join(repoDir(cacheDir, repo), 'refs', ...revision.split('/'));
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null;
  if (current !== commit) writeFileAtomic(file, commit);
}

/**
 * Puts a complete blob at snapshots/<commit>/<file>: a relative symlink (as Python makes), or a
 * copy where symlinks are not allowed (Windows without developer mode). Either is created under
 * a temporary name and renamed into place, so the snapshot path is absent or complete.
 */
export function linkIntoSnapshot(blob: string, pointer: string): void {
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  const tmp = path.join(path.dirname(pointer), `.${path.basename(pointer)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
  } catch {
    // No symlinks here: copy the blob next to itself, then move the copy into the snapshot.
    const copy = `${blob}.${process.pid}.copy`;
    fs.copyFileSync(blob, copy);
    try {
      renameWithRetry(copy, tmp, 10);
    } catch (err) {
      fs.rmSync(copy, { force: true });
      throw err;
    }
  }
  try {
    renameWithRetry(tmp, pointer, 10);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** True when the snapshot file exists and resolves to a file of the expected size. */
export function snapshotFileOk(pointer: string, size?: number): boolean {
  try {
    const st = fs.statSync(pointer);
    return st.isFile() && (size === undefined || st.size === size);
  } catch {
    return false;
  }
}

export interface SnapshotCheck {
  complete: boolean;
  /** What is missing for the app to use it (config.json, weights, a shard, a tokenizer). */
  missing: string[];
}

/** Whether a snapshot folder has what training needs: config.json, weights (all shards), a tokenizer. */
export function checkSnapshot(dir: string): SnapshotCheck {
  const missing: string[] = [];
  if (!snapshotFileOk(path.join(dir, 'config.json'))) missing.push('config.json');
  try {
    const weights = detectWeights(dir);
    if (!weights) missing.push('weights (model.safetensors or pytorch_model.bin)');
    else {
      for (const f of weights.files) if (!snapshotFileOk(path.join(dir, f))) missing.push(f);
    }
  } catch {
    missing.push('a readable weights index');
  }
  const tok = detectTokenizerSource(dir);
  if (!tok) missing.push('tokenizer files');
  else missing.push(...tok.missing);
  return { complete: missing.length === 0, missing };
}

export interface CachedSnapshot {
  repo: string;
  commit: string;
  dir: string;
}

/** The cached snapshot a revision resolves to offline, when it is complete; else null. */
export function findCachedSnapshot(cacheDir: string, repo: string, revision = 'main'): CachedSnapshot | null {
  const commit = readRef(cacheDir, repo, revision);
  if (!commit) return null;
  const dir = snapshotDir(cacheDir, repo, commit);
  if (!fs.existsSync(dir) || !checkSnapshot(dir).complete) return null;
  return { repo, commit, dir };
}

export interface CachedModelInfo {
  repo: string;
  revisions: { commit: string; refs: string[]; dir: string; sizeBytes: number; complete: boolean }[];
  sizeBytes: number;
}

/** Total size of the files a snapshot folder links to (each blob once). */
function snapshotSize(dir: string, seen: Set<string>): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) total += snapshotSize(p, seen);
    else {
      try {
        const real = fs.realpathSync(p);
        if (seen.has(real)) continue;
        seen.add(real);
        total += fs.statSync(real).size;
      } catch {
        // a dangling link: counts as nothing
      }
    }
  }
  return total;
}

/**
 * Every model repo in the cache, with each snapshot's refs, size and completeness.
 * (@huggingface/hub's scanCacheDir rejects a whole repo when it has no refs/ folder, which is
 * what a download by commit hash leaves, or a ref to a deleted snapshot; this scan tolerates both.)
 */
export function listCachedModels(cacheDir: string): CachedModelInfo[] {
  if (!fs.existsSync(cacheDir)) return [];
  const out: CachedModelInfo[] = [];
  for (const entry of fs.readdirSync(cacheDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith('models--')) continue;
    const repo = entry.name.slice('models--'.length).split('--').join('/');
    const base = path.join(cacheDir, entry.name);
    const refs = new Map<string, string[]>();
    const refsDir = path.join(base, 'refs');
    const walkRefs = (dir: string, prefix: string): void => {
      if (!fs.existsSync(dir)) return;
      for (const r of fs.readdirSync(dir, { withFileTypes: true })) {
        if (r.isDirectory()) walkRefs(path.join(dir, r.name), `${prefix}${r.name}/`);
        else {
          const commit = fs.readFileSync(path.join(dir, r.name), 'utf8').trim();
          refs.set(commit, [...(refs.get(commit) ?? []), `${prefix}${r.name}`]);
        }
      }
    };
    walkRefs(refsDir, '');
    const snapshots = path.join(base, 'snapshots');
    const seen = new Set<string>();
    const revisions = fs.existsSync(snapshots)
      ? fs
          .readdirSync(snapshots, { withFileTypes: true })
          .filter((d) => d.isDirectory() && COMMIT_HASH.test(d.name))
          .map((d) => {
            const dir = path.join(snapshots, d.name);
            return { commit: d.name, refs: refs.get(d.name) ?? [], dir, sizeBytes: snapshotSize(dir, seen), complete: checkSnapshot(dir).complete };
          })
      : [];
    out.push({ repo, revisions, sizeBytes: revisions.reduce((a, r) => a + r.sizeBytes, 0) });
  }
  return out.sort((a, b) => a.repo.localeCompare(b.repo));
}
