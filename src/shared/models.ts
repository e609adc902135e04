/**
 * Models in: the catalog of suggested Hugging Face models, download progress, and the report of a
 * local model folder. Plain serialisable data (crosses IPC, HTTP and the CLI's --json).
 */

import type { ModelFamily } from './model-families';

/** The model families the engine trains (config.json's model_type): the registry's records. */
export { MODEL_FAMILIES, type ModelFamily } from './model-families';

/** A reported AG News test accuracy, with the public model card that states it. */
export interface ReportedAccuracy {
  /** Fraction 0..1, as the card states it. */
  value: number;
  /** The model card (URL) that reports it. */
  source: string;
  /** What exactly was measured, in the card's words (fine-tuned model, split, recipe). */
  note: string;
}

export interface CatalogModel {
  /** Hub id, e.g. "roberta-base" or "google/bert_uncased_L-4_H-256_A-4". */
  id: string;
  family: ModelFamily;
  /** For people: "RoBERTa base". */
  label: string;
  /** One line on when to pick it. */
  description: string;
  /** Parameters of the encoder the classifier trains (embeddings + layers + pooler), from the architecture. */
  parameters: number;
  /** Approximate bytes the app downloads (weights + tokenizer + config), as the Hub lists them. */
  downloadBytes: number;
  /** Training compute per example relative to bert-base-uncased (1.0), from the architecture. */
  relativeCost: number;
  /** Typical AG News accuracy from a public model card, or null when no card states one ("not reported"). */
  agNewsAccuracy: ReportedAccuracy | null;
  /** Whether a complete snapshot is in the local Hugging Face cache. */
  cached: boolean;
  /** The cached snapshot folder, or null. */
  localPath: string | null;
}

/** Progress of one model download: bytes over all files, with a speed and an ETA. */
export interface DownloadProgress {
  repo: string;
  /** The file being transferred now (repo-relative path), or null between files. */
  file: string | null;
  /** Bytes present in the cache so far, resumed bytes included. */
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Seconds left at the current speed, or null while it is unknown. */
  etaSeconds: number | null;
  /** Recent transfer speed (bytes per second over the last seconds), 0 before the first bytes. */
  bytesPerSecond: number;
  /** Which step runs: listing the repo, transferring, verifying a file, done. */
  phase: 'metadata' | 'download' | 'verify' | 'done';
}

/** Which weight files a folder has, in the order the engine prefers them. */
export const WEIGHTS_FORMATS = ['safetensors', 'sharded-safetensors', 'pytorch-bin', 'sharded-pytorch-bin'] as const;
export type WeightsFormat = (typeof WEIGHTS_FORMATS)[number];

/** Where the tokenizer comes from. */
export const TOKENIZER_SOURCES = ['tokenizer.json', 'vocab.txt', 'vocab.json+merges.txt', 'spiece.model'] as const;
export type TokenizerSource = (typeof TOKENIZER_SOURCES)[number];

/** What a model folder holds and whether the app can train it. */
export interface ImportReport {
  /** True when the folder has everything needed (nothing missing, nothing unsupported). */
  ok: boolean;
  /** The folder, absolute. */
  dir: string;
  /** config.json's model_type when it is one the engine trains, else null. */
  family: ModelFamily | null;
  /** Files or fields that are missing, each with what to do ("config.json: ..."). */
  missing: string[];
  /** Things present but not supported by this build (architecture, format, dtype...). */
  unsupported: string[];
  /** Things that work but deserve attention (a head that will be replaced, a converted tokenizer...). */
  warnings: string[];
  weightsFormat: WeightsFormat | null;
  /** The weight files that would be read. */
  weightFiles: string[];
  tokenizerSource: TokenizerSource | null;
  /** Labels in config.json's id2label when it has a classification head, else null. */
  labels: string[] | null;
}

/** A model made ready for training: a local folder, from the Hub cache or given by the user. */
export interface ResolvedModel {
  /** The model folder (a snapshot folder of the cache, or the user's folder). */
  dir: string;
  /** The Hub id, or the folder path for a local model. */
  id: string;
  /** The commit hash of a Hub snapshot, or null for a local folder. */
  revision: string | null;
  /** True when nothing was downloaded (cache hit, offline, or a local folder). */
  fromCache: boolean;
  /** Why the cache was used without checking the Hub (offline, network down), or null. */
  note: string | null;
}
