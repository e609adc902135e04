/**
 * The name a file is shown under in messages: the user's own name for it. A file uploaded
 * through the web host is stored as <data dir>/uploads/<ms>-<6 hex>-<safe name>; its messages
 * must say "reviews.csv", not "1796397272197-e3225d-reviews.csv". A caller that knows the
 * original name passes it (displayName); otherwise the upload prefix is taken off.
 */
import path from 'node:path';

/** The prefix web uploads get (src/main/web.ts receiveUpload: `${Date.now()}-${3 random bytes hex}-`). */
export const UPLOAD_PREFIX_RE = /^\d{10,}-[0-9a-f]{6}-(?=.)/;

export function displayFileName(file: string, displayName?: string): string {
  const given = displayName?.trim();
  if (given) return path.basename(given.replaceAll('\\', '/'));
  const base = path.basename(file);
  return path.basename(path.dirname(file)) === 'uploads' ? base.replace(UPLOAD_PREFIX_RE, '') : base;
}
