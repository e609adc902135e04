/**
 * Schemas for model inputs that cross a boundary (IPC, HTTP, CLI): a Hub repo id, a revision, a
 * local model folder, or "either" (what train/eval/predict accept). The rules follow the Hub's own
 * (huggingface_hub validate_repo_id, git ref names) so a bad id is refused before any request.
 */
import { z } from 'zod';

/** "name" or "org/name": letters, digits, "-", "_", "."; no "--" or ".."; at most 96 characters. */
export const HUB_ID_PATTERN = /^(?:[A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+$/;

export const hubIdSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'a Hub model id is required, e.g. "roberta-base" or "google/bert_uncased_L-4_H-256_A-4"')
      .max(96, 'a Hub model id is at most 96 characters')
      .regex(HUB_ID_PATTERN, 'a Hub model id looks like "name" or "org/name" (letters, digits, "-", "_", ".")')
      .refine((s) => !s.includes('--') && !s.includes('..'), 'a Hub model id cannot contain "--" or ".."')
      .refine((s) => s.split('/').every((part) => !/^[-.]|[-.]$/.test(part)), 'a Hub model id part cannot start or end with "-" or "."')
      .refine((s) => !/^(models?|datasets?|spaces?)\//.test(s), 'give the model id without a "models/" prefix'),
  );

/** A branch, tag or commit hash ("main", "v1.0", "refs/pr/3", 40 hex digits): git ref-name rules. */
export const revisionSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'a revision cannot be empty (use "main", a tag or a commit hash)')
      .max(255, 'a revision is at most 255 characters')
      .refine((s) => !/[\u0000-\u0020\u007f~^:?*[\\]/.test(s), 'a revision cannot hold spaces, control characters or any of ~ ^ : ? * [ \\')
      .refine((s) => !s.includes('..') && !s.includes('//') && !s.includes('@{'), 'a revision cannot contain "..", "//" or "@{"')
      .refine((s) => !/^[/.]|[/.]$/.test(s) && !s.endsWith('.lock'), 'a revision cannot start or end with "/" or ".", nor end with ".lock"'),
  );

/** A local folder path (existence is checked where the file system is). */
export const localFolderSchema = z
  .string()
  .min(1, 'a folder path is required')
  .max(4096, 'a folder path is at most 4096 characters')
  .refine((s) => !s.includes('\u0000'), 'a folder path cannot hold a NUL character')
  .refine((s) => s.trim().length > 0, 'a folder path cannot be blank');

/**
 * True when the text names a local path rather than a Hub id: absolute, "./", "../", "~",
 * a Windows drive, or backslashes. ("org/name" is read as a Hub id unless such a folder exists,
 * which resolveModel checks.)
 */
export function looksLikeLocalPath(s: string): boolean {
  return /^(\/|\.{1,2}([/\\]|$)|~([/\\]|$)|[A-Za-z]:[/\\]|\\\\)/.test(s) || s.includes('\\');
}

/** What train, eval and predict accept as a model: a Hub id or a local folder. */
export const modelRefSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'a model is required: a Hub id such as "roberta-base" or a model folder')
      .max(4096, 'a model reference is at most 4096 characters')
      .refine((s) => !s.includes('\u0000'), 'a model reference cannot hold a NUL character')
      .refine(
        (s) => looksLikeLocalPath(s) || hubIdSchema.safeParse(s).success,
        'give a Hub model id ("roberta-base", "org/name") or a folder path ("./my-model", "/models/bert")',
      ),
  );

export const downloadModelInputSchema = z.object({
  repo: hubIdSchema,
  revision: revisionSchema.optional(),
});
export type DownloadModelInput = z.infer<typeof downloadModelInputSchema>;

export const importModelInputSchema = z.object({
  dir: localFolderSchema,
});
export type ImportModelInput = z.infer<typeof importModelInputSchema>;
