/**
 * prepareDataset: the user's file(s) + mapping -> an immutable, fingerprinted copy under
 * <dataDir>/datasets/<sha256>/ (train.jsonl, eval.jsonl, meta.json), written to a temp folder,
 * fsynced, then renamed, so a run stays reproducible when the source changes and a failure
 * leaves nothing half-written. Also loading, listing and removing prepared datasets.
 */
import { plural } from '../../shared/format';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {
  ClassCount,
  DatasetCleaning,
  DatasetMapping,
  DatasetRow,
  LoadedDataset,
  PrepareRequest,
  PreparedDataset,
} from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { fsyncPath, fsyncTree, removeDirSafely, renameWithRetry } from '../fsutil';
import { readBaselineReport } from './baseline-files';
import { resolveFormat, type ResolvedFormat } from './format';
import { hashText, seededRandom, shuffleInPlace } from './hash';
import { describeBrokenQuotes, describeNuls, describeSkipped } from './inspect';
import { describeVariants, LabelNormaliser, type FinishedLabels } from './labels';
import { mappingForSecondFile, readMappedRows } from './mapping';
import { ProgressReporter, throwIfCancelled, type LongTaskOptions } from './progress';
import type { ReadSummary } from './records';
import { BufferedFileWriter, forEachLine, GrowableInt32, RowStore } from './row-store';

export const DATASET_FORMAT_VERSION = 1;
const ID_RE = /^[0-9a-f]{64}$/;
const KEPT_LINES = 20;

export function datasetsDir(dataDir: string): string {
  return path.join(dataDir, 'datasets');
}

export function preparedDatasetDir(dataDir: string, id: string): string {
  if (!ID_RE.test(id)) throw new AppError('invalid_input', `"${id}" is not a dataset id (a 64-character sha256 fingerprint).`, 'id');
  return path.join(datasetsDir(dataDir), id);
}

/** Rows left out while reading: counted, with their first line numbers. */
class LineTally {
  count = 0;
  lines: number[] = [];
  add(line: number): void {
    this.count++;
    if (this.lines.length < KEPT_LINES) this.lines.push(line);
  }
  reset(): void {
    this.count = 0;
    this.lines = [];
  }
  describe(what: string, fileName: string): string[] {
    if (this.count === 0) return [];
    const more = this.count > this.lines.length ? ', ...' : '';
    return [`${this.count.toLocaleString('en-US')} row${this.count === 1 ? '' : 's'} of ${fileName} ${what} and ${this.count === 1 ? 'was' : 'were'} left out (line${this.lines.length === 1 ? '' : 's'} ${this.lines.join(', ')}${more}).`];
  }
}

interface SideRead {
  store: RowStore;
  format: ResolvedFormat;
  summary: ReadSummary;
  emptyTexts: LineTally;
  missingLabels: LineTally;
  sha256: string;
  mapping: DatasetMapping;
}

async function readSide(
  format: ResolvedFormat,
  mapping: DatasetMapping,
  side: 'train' | 'eval',
  store: RowStore,
  normaliser: LabelNormaliser,
  options: LongTaskOptions,
): Promise<SideRead> {
  const emptyTexts = new LineTally();
  const missingLabels = new LineTally();
  let sourceHash: Hash = createHash('sha256');
  const labelsBefore = normaliser.snapshot();
  const { summary } = await readMappedRows(
    format,
    mapping,
    (row) => {
      const text = row.text.trim();
      if (text === '') {
        emptyTexts.add(row.line);
        return;
      }
      const label = normaliser.add(row.label, row.line, side);
      if (label < 0) {
        missingLabels.add(row.line);
        return;
      }
      store.add(text, label, hashText(text), row.line);
    },
    {
      ...options,
      phase: side === 'train' ? 'reading' : 'reading evaluation file',
      field: side === 'train' ? 'mapping' : 'split.evalMapping',
      onRawBytes: (chunk) => sourceHash.update(chunk),
      reset: () => {
        // Restarted as Windows-1252: nothing of the first attempt may remain.
        store.reset();
        emptyTexts.reset();
        missingLabels.reset();
        sourceHash = createHash('sha256');
        normaliser.restore(labelsBefore);
      },
    },
  );
  return { store, format: summary.format, summary, emptyTexts, missingLabels, sha256: sourceHash.digest('hex'), mapping };
}


/** Row masks after cleaning: 1 = dropped. */
function cleanRows(
  train: RowStore,
  evalStore: RowStore | null,
  cleaning: DatasetCleaning,
  warnings: string[],
  evalFileName: string | null,
): { trainDropped: Uint8Array; evalDropped: Uint8Array } {
  const trainDropped = new Uint8Array(train.count);
  const evalDropped = new Uint8Array(evalStore?.count ?? 0);
  const sides: [RowStore, Uint8Array, string][] = [[train, trainDropped, 'training']];
  if (evalStore) sides.push([evalStore, evalDropped, 'evaluation']);

  if (cleaning.dropConflicting) {
    const labelOf = new Map<number, number>();
    const conflicting = new Set<number>();
    for (const [store] of sides) {
      for (let i = 0; i < store.count; i++) {
        const h = store.hashes.get(i);
        const seen = labelOf.get(h);
        if (seen === undefined) labelOf.set(h, store.labels.get(i));
        else if (seen !== store.labels.get(i)) conflicting.add(h);
      }
    }
    // Every row of such a text goes (which label is right cannot be known), on both sides; what
    // leaves the separate evaluation file is named with its lines.
    const droppedBySide = sides.map(([store, mask]) => {
      const tally = new LineTally();
      for (let i = 0; i < store.count; i++) {
        if (conflicting.has(store.hashes.get(i))) {
          mask[i] = 1;
          tally.add(store.lines.get(i));
        }
      }
      return tally;
    });
    const [fromTrain, fromEval] = droppedBySide as [LineTally, LineTally | undefined];
    const dropped = fromTrain.count + (fromEval?.count ?? 0);
    if (dropped) {
      warnings.push(
        `${plural(dropped, 'row')} whose text also occurs with another label ${dropped === 1 ? 'was' : 'were'} dropped (${plural(conflicting.size, 'text')}; every row of each): ${plural(fromTrain.count, 'training row')}${evalFileName ? `, ${plural(fromEval?.count ?? 0, 'row')} of the evaluation file ${evalFileName}` : ''}.`,
      );
      if (fromEval && fromEval.count > 0 && evalFileName) warnings.push(...fromEval.describe('had a text that also occurs with another label', evalFileName));
    }
  }
  if (cleaning.dropDuplicates) {
    for (const [store, mask, sideName] of sides) {
      const seen = new Set<string>();
      let dropped = 0;
      for (let i = 0; i < store.count; i++) {
        if (mask[i]) continue;
        const key = `${store.hashes.get(i)}:${store.labels.get(i)}`;
        if (seen.has(key)) {
          mask[i] = 1;
          dropped++;
        } else seen.add(key);
      }
      if (dropped) warnings.push(`${plural(dropped, 'duplicate row')} (same text, same label) ${dropped === 1 ? 'was' : 'were'} dropped from the ${sideName === 'evaluation' && evalFileName ? `evaluation file ${evalFileName}` : `${sideName} rows`}.`);
    }
  }
  if (cleaning.dropLeakedFromEval && evalStore) {
    const trainTexts = new Set<number>();
    for (let i = 0; i < train.count; i++) if (!trainDropped[i]) trainTexts.add(train.hashes.get(i));
    let dropped = 0;
    for (let i = 0; i < evalStore.count; i++) {
      if (!evalDropped[i] && trainTexts.has(evalStore.hashes.get(i))) {
        evalDropped[i] = 1;
        dropped++;
      }
    }
    if (dropped) warnings.push(`${plural(dropped, 'evaluation row')} whose text is also in the training rows ${dropped === 1 ? 'was' : 'were'} dropped.`);
  }
  return { trainDropped, evalDropped };
}

/**
 * Stratified split: within each class, a seeded shuffle picks round(n * ratio) rows (at least
 * one, and never all) for evaluation. The generator of each class is seeded from the seed and
 * the label name, so a class's split does not depend on the other classes.
 */
export function stratifiedEvalMask(
  labels: ArrayLike<number>,
  dropped: Uint8Array,
  labelNames: readonly string[],
  evalRatio: number,
  seed: number,
  fileName = 'the file',
): Uint8Array {
  const byClass: number[][] = labelNames.map(() => []);
  for (let i = 0; i < labels.length; i++) if (!dropped[i]) byClass[labels[i]!]!.push(i);
  const tooSmall = labelNames.filter((_, c) => byClass[c]!.length < 2);
  if (tooSmall.length > 0) {
    const names = tooSmall.slice(0, 10).map((n) => `"${n}"`).join(', ');
    throw new AppError(
      'invalid_input',
      `${fileName}: ${tooSmall.length === 1 ? 'the label' : `${tooSmall.length} labels`} ${names}${tooSmall.length > 10 ? ', ...' : ''} ${tooSmall.length === 1 ? 'has' : 'have'} a single row, so ${tooSmall.length === 1 ? 'it' : 'they'} cannot be on both the training and the evaluation side. Add rows, remove ${tooSmall.length === 1 ? 'that label' : 'those labels'}, or give a separate evaluation file.`,
      'split',
    );
  }
  const mask = new Uint8Array(labels.length);
  byClass.forEach((rows, c) => {
    const n = rows.length;
    const take = Math.min(n - 1, Math.max(1, Math.round(n * evalRatio)));
    shuffleInPlace(rows, seededRandom(hashText(labelNames[c]!, seed >>> 0) % 4294967296));
    for (let k = 0; k < take; k++) mask[rows[k]!] = 1;
  });
  return mask;
}

function fingerprint(labels: readonly string[], trainSha: string, evalSha: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ formatVersion: DATASET_FORMAT_VERSION, labels, train: trainSha, eval: evalSha }))
    .digest('hex');
}

function blockingChecks(train: SideRead, finished: FinishedLabels, evalRead: SideRead | null): void {
  const name = train.format.displayName;
  if (train.store.count === 0) {
    const reasons = [
      train.summary.skipped.count ? `${plural(train.summary.skipped.count, 'row')} could not be read` : '',
      train.emptyTexts.count ? `${plural(train.emptyTexts.count, 'row')} had an empty text` : '',
      train.missingLabels.count ? `${plural(train.missingLabels.count, 'row')} had no label` : '',
    ].filter(Boolean);
    throw new AppError(
      'invalid_input',
      `${name} has no usable rows${reasons.length ? ` (${reasons.join(', ')})` : ''}. Check that the text and label columns are the right ones and that the file has data below its header.`,
    );
  }
  if (finished.evalOnly.length > 0 && evalRead) {
    const first = finished.evalOnly[0]!;
    throw new AppError(
      'invalid_input',
      `${evalRead.format.displayName} line ${first.line}: the label "${first.label}" does not occur in ${name}${finished.evalOnly.length > 1 ? ` (nor do ${finished.evalOnly.length - 1} other evaluation labels)` : ''}. A model cannot be evaluated on a label it never saw; fix the label or add training rows for it.`,
    );
  }
  if (finished.labels.length < 2) {
    throw new AppError(
      'invalid_input',
      `${name} has a single label ("${finished.labels[0] ?? ''}"). A classifier needs at least two labels: check the label column, or add rows of the other classes.`,
    );
  }
  if (evalRead && evalRead.sha256 === train.sha256) {
    throw new AppError(
      'invalid_input',
      `${evalRead.format.displayName} ${evalRead.format.file === train.format.file ? 'is the training file itself' : 'has exactly the same content as the training file'}: every evaluation text would have been seen in training. Choose a different evaluation file, or split ${name}.`,
      'split.evalFile',
    );
  }
  if (evalRead && evalRead.store.count === 0) {
    throw new AppError('invalid_input', `${evalRead.format.displayName} has no usable evaluation rows. Check its columns (the evaluation mapping) and its content.`);
  }
}

export interface PrepareOptions extends LongTaskOptions {
  /** Clock for createdAt (tests). */
  now?: () => number;
  /**
   * The temp folder to write in (inside <dataDir>/datasets; it must not exist yet). The data
   * worker pool chooses it, so it can remove it when it has to stop a worker mid-write.
   */
  tempDir?: string;
}

/** A fresh temp folder name for a prepare in <dataDir>/datasets. */
export function prepareTempDir(dataDir: string): string {
  return path.join(datasetsDir(dataDir), `.tmp-${process.pid}-${randomUUID()}`);
}

/** Prepares a dataset; returns the existing one when the same content was prepared before. */
export async function prepareDataset(request: PrepareRequest, dataDir: string, options: PrepareOptions = {}): Promise<PreparedDataset> {
  const root = datasetsDir(dataDir);
  fs.mkdirSync(root, { recursive: true });
  const tempDir = options.tempDir ?? prepareTempDir(dataDir);
  fs.mkdirSync(tempDir);
  const stores: RowStore[] = [];
  try {
    const mapping = request.mapping;
    const cleaning = request.cleaning ?? {};
    const trainFormat = await resolveFormat(request.file, mapping.parse ?? {}, request.displayName);
    const fileName = trainFormat.displayName;
    const normaliser = new LabelNormaliser(mapping.labelNames);
    const trainStore = new RowStore(path.join(tempDir, 'train-texts.tmp'));
    stores.push(trainStore);
    const train = await readSide(trainFormat, mapping, 'train', trainStore, normaliser, options);

    let evalRead: SideRead | null = null;
    let evalMapping: DatasetMapping | null = null;
    if (request.split.kind === 'file') {
      const split = request.split;
      const evalFormat = await resolveFormat(split.evalFile, split.evalMapping?.parse ?? {}, split.evalDisplayName);
      evalMapping = split.evalMapping ?? mappingForSecondFile(mapping, train.format, evalFormat);
      const evalStore = new RowStore(path.join(tempDir, 'eval-texts.tmp'));
      stores.push(evalStore);
      evalRead = await readSide(evalFormat, evalMapping, 'eval', evalStore, normaliser, options);
    }
    throwIfCancelled(options.signal, `Preparing ${fileName}`);
    for (const s of stores) s.texts.close(false);

    const finished = normaliser.finish();
    blockingChecks(train, finished, evalRead);
    const warnings: string[] = [];
    if (train.format.encodingNote) warnings.push(train.format.encodingNote);
    if (evalRead?.format.encodingNote) warnings.push(`${evalRead.format.displayName}: ${evalRead.format.encodingNote}`);
    for (const side of [train, evalRead]) {
      if (!side) continue;
      const name = side.format.displayName;
      warnings.push(
        ...describeSkipped(side.summary, name),
        ...describeBrokenQuotes(side.summary, name),
        ...describeNuls(side.summary),
        ...side.emptyTexts.describe('had an empty text', name),
        ...side.missingLabels.describe('had no label', name),
      );
    }
    warnings.push(...describeVariants(finished.variants));

    // Final label indexes, then cleaning and the split.
    const toFinal = (store: RowStore): void => {
      for (let i = 0; i < store.count; i++) store.labels.set(i, finished.finalIndex[store.labels.get(i)]!);
    };
    toFinal(train.store);
    if (evalRead) toFinal(evalRead.store);
    const { trainDropped, evalDropped } = cleanRows(train.store, evalRead?.store ?? null, cleaning, warnings, evalRead?.format.displayName ?? null);

    let evalMask: Uint8Array | null = null;
    if (request.split.kind === 'ratio') {
      const labelArray = new Int32Array(train.store.count);
      for (let i = 0; i < train.store.count; i++) labelArray[i] = train.store.labels.get(i);
      evalMask = stratifiedEvalMask(labelArray, trainDropped, finished.labels, request.split.evalRatio, request.split.seed, fileName);
    }

    // Write train.jsonl and eval.jsonl.
    const trainOut = new BufferedFileWriter(path.join(tempDir, 'train.jsonl'), true);
    const evalOut = new BufferedFileWriter(path.join(tempDir, 'eval.jsonl'), true);
    const counts: ClassCount[] = finished.labels.map((label) => ({ label, train: 0, eval: 0 }));
    // The source line of each written row, so the doctor and drill-downs name file lines.
    const sourceLines = { train: new GrowableInt32(), eval: new GrowableInt32() };
    const totalRows = train.store.count + (evalRead?.store.count ?? 0);
    const progress = new ProgressReporter('writing', totalRows, 'rows', options.onProgress);
    let written = 0;
    const writeRows = async (store: RowStore, dropped: Uint8Array, sideOf: (i: number) => 'train' | 'eval'): Promise<void> => {
      await forEachLine(
        store.textsFile,
        (jsonText, i) => {
          written++;
          if (dropped[i]) return;
          const label = store.labels.get(i);
          const side = sideOf(i);
          (side === 'train' ? trainOut : evalOut).write(`{"text":${jsonText},"label":${label}}\n`);
          sourceLines[side].push(store.lines.get(i));
          counts[label]![side]++;
          progress.update(written);
        },
        options.signal,
      );
      throwIfCancelled(options.signal, `Preparing ${fileName}`);
    };
    try {
      await writeRows(train.store, trainDropped, (i) => (evalMask && evalMask[i] ? 'eval' : 'train'));
      if (evalRead) await writeRows(evalRead.store, evalDropped, () => 'eval');
    } catch (err) {
      trainOut.abandon();
      evalOut.abandon();
      throw err;
    }
    const trainSha = trainOut.close()!;
    const evalSha = evalOut.close()!;
    progress.finish(written);
    for (const s of stores) fs.rmSync(s.textsFile, { force: true });

    const trainCount = counts.reduce((a, c) => a + c.train, 0);
    const evalCount = counts.reduce((a, c) => a + c.eval, 0);
    if (trainCount === 0 || evalCount === 0) {
      throw new AppError('invalid_input', `${fileName}: after cleaning, ${trainCount === 0 ? 'no training rows' : 'no evaluation rows'} are left. Turn off a clean-up option or add rows.`);
    }
    const missingInEval = counts.filter((c) => c.eval === 0).map((c) => c.label);
    if (missingInEval.length > 0) {
      warnings.push(`${plural(missingInEval.length, 'label')} ${missingInEval.length === 1 ? 'has' : 'have'} no evaluation rows: ${missingInEval.slice(0, 10).map((l) => `"${l}"`).join(', ')}${missingInEval.length > 10 ? ', ...' : ''}; ${missingInEval.length === 1 ? 'its' : 'their'} scores cannot be measured.`);
    }

    const id = fingerprint(finished.labels, trainSha, evalSha);
    const meta: Omit<PreparedDataset, 'baseline'> = {
      id,
      name: request.name ?? trainFormat.displayName,
      labels: finished.labels,
      trainCount,
      evalCount,
      classCounts: counts,
      source: { file: train.format.file, sizeBytes: train.format.sizeBytes, sha256: train.sha256 },
      evalSource: evalRead ? { file: evalRead.format.file, sizeBytes: evalRead.format.sizeBytes, sha256: evalRead.sha256 } : null,
      mapping: { ...mapping, parse: { ...train.format.settings } },
      evalMapping: evalMapping && evalRead ? { ...evalMapping, parse: { ...evalRead.format.settings } } : null,
      split: request.split,
      cleaning,
      parse: train.format.settings,
      contentSha256: { train: trainSha, eval: evalSha },
      createdAt: (options.now ?? Date.now)(),
      warnings,
      formatVersion: DATASET_FORMAT_VERSION,
    };
    fs.writeFileSync(path.join(tempDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    for (const side of ['train', 'eval'] as const) {
      const l = sourceLines[side];
      fs.writeFileSync(path.join(tempDir, `${side}.lines`), l.toBytesLE());
    }
    fsyncTree(tempDir);
    const finalDir = path.join(root, id);
    if (fs.existsSync(path.join(finalDir, 'meta.json'))) {
      // The same content was prepared before: keep the existing copy (and its creation time).
      removeDirSafely(tempDir);
      return readMeta(dataDir, id);
    }
    if (fs.existsSync(finalDir)) removeDirSafely(finalDir); // a broken leftover without meta.json
    try {
      renameWithRetry(tempDir, finalDir, 10);
    } catch (err) {
      // Another prepare of the same content may have won the race: its copy is as good as ours.
      if (!fs.existsSync(path.join(finalDir, 'meta.json'))) throw err;
      fs.rmSync(tempDir, { recursive: true, force: true });
      return readMeta(dataDir, id);
    }
    fsyncPath(root);
    return { ...meta, baseline: null };
  } catch (err) {
    for (const s of stores) s.texts.abandon();
    fs.rmSync(tempDir, { recursive: true, force: true });
    throw err;
  }
}

function readMeta(dataDir: string, id: string): PreparedDataset {
  const file = path.join(preparedDatasetDir(dataDir, id), 'meta.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new AppError('not_found', `Dataset ${id.slice(0, 12)} does not exist in ${datasetsDir(dataDir)}; prepare it again.`);
  }
  let meta: PreparedDataset;
  try {
    meta = JSON.parse(text) as PreparedDataset;
  } catch {
    throw new AppError('io', `${file} is damaged (not valid JSON); prepare the dataset again.`);
  }
  return { ...meta, baseline: readBaselineReport(path.dirname(file)) };
}

/** The meta.json of a prepared dataset. */
export function getPreparedDataset(dataDir: string, id: string): PreparedDataset {
  return readMeta(dataDir, id);
}

async function readRows(
  file: string,
  labelCount: number,
  expectedSha: string | undefined,
  what: string,
  onRow?: () => void,
  signal?: AbortSignal,
): Promise<DatasetRow[]> {
  const rows: DatasetRow[] = [];
  const hash = createHash('sha256');
  let failure: AppError | null = null;
  try {
    await forEachLine(
      file,
      (line, index) => {
        if (failure || line === '') return;
        try {
          const row = JSON.parse(line) as DatasetRow;
          if (typeof row.text !== 'string' || !Number.isInteger(row.label) || row.label < 0 || row.label >= labelCount) throw new Error('bad row');
          rows.push({ text: row.text, label: row.label });
          onRow?.();
        } catch {
          failure = new AppError('io', `${what} row ${index + 1} is damaged; prepare the dataset again.`);
        }
      },
      signal,
      (chunk) => hash.update(chunk),
    );
  } catch (err) {
    throw new AppError('io', `${what} cannot be read (${(err as Error).message}); prepare the dataset again.`);
  }
  throwIfCancelled(signal, `Reading ${what}`);
  if (failure) throw failure;
  if (expectedSha && hash.digest('hex') !== expectedSha) {
    throw new AppError('io', `${what} was changed on disk after it was prepared; prepare the dataset again.`);
  }
  return rows;
}

export interface LoadPreparedOptions {
  /** Rows read so far, of the dataset's train + eval count. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Loads a prepared dataset; its files are checked against the fingerprint. */
export async function loadPreparedDataset(dataDir: string, id: string, options: LoadPreparedOptions = {}): Promise<LoadedDataset> {
  const meta = readMeta(dataDir, id);
  const dir = preparedDatasetDir(dataDir, id);
  const total = (meta.trainCount ?? 0) + (meta.evalCount ?? 0);
  let done = 0;
  let lastSent = 0;
  const onRow = options.onProgress
    ? (): void => {
        done++;
        const now = Date.now();
        if (now - lastSent >= 200) {
          lastSent = now;
          options.onProgress!(done, Math.max(done, total));
        }
      }
    : undefined;
  const train = await readRows(path.join(dir, 'train.jsonl'), meta.labels.length, meta.contentSha256?.train, `Dataset ${id.slice(0, 12)} train.jsonl`, onRow, options.signal);
  const evalRows = await readRows(path.join(dir, 'eval.jsonl'), meta.labels.length, meta.contentSha256?.eval, `Dataset ${id.slice(0, 12)} eval.jsonl`, onRow, options.signal);
  options.onProgress?.(done, Math.max(done, total));
  return { meta, train, eval: evalRows };
}

/**
 * About `count` training rows spread evenly over a prepared dataset (the longest texts matter as
 * much as the first ones), read without holding the others: for the time estimate. Not checked
 * against the fingerprint (training does that).
 */
export async function sampleTrainRows(dataDir: string, id: string, count: number): Promise<DatasetRow[]> {
  const meta = readMeta(dataDir, id);
  const file = path.join(preparedDatasetDir(dataDir, id), 'train.jsonl');
  const stride = Math.max(1, Math.floor(meta.trainCount / count));
  const rows: DatasetRow[] = [];
  let failure: AppError | null = null;
  const enough = new AbortController();
  await forEachLine(file, (line, index) => {
    if (failure || line === '' || index % stride !== 0 || rows.length >= count) return;
    if (rows.length === count - 1) enough.abort();
    try {
      const row = JSON.parse(line) as DatasetRow;
      if (typeof row.text !== 'string' || !Number.isInteger(row.label) || row.label < 0 || row.label >= meta.labels.length) throw new Error('bad row');
      rows.push({ text: row.text, label: row.label });
    } catch {
      failure = new AppError('io', `Dataset ${id.slice(0, 12)} train.jsonl row ${index + 1} is damaged; prepare the dataset again.`);
    }
  }, enough.signal).catch((err: unknown) => {
    throw new AppError('io', `Dataset ${id.slice(0, 12)} train.jsonl cannot be read (${(err as Error).message}); prepare the dataset again.`);
  });
  if (failure) throw failure;
  return rows;
}

/**
 * The source line of every prepared row (<side>.lines: little-endian int32 per row, in row
 * order), or null for a dataset prepared before they were kept.
 */
export function readSourceLines(dataDir: string, id: string, trainCount: number, evalCount: number): { train: Int32Array; eval: Int32Array } | null {
  const dir = preparedDatasetDir(dataDir, id);
  const read = (side: 'train' | 'eval', n: number): Int32Array | null => {
    try {
      const buf = fs.readFileSync(path.join(dir, `${side}.lines`));
      if (buf.length !== n * 4) return null;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readInt32LE(i * 4);
      return out;
    } catch {
      return null;
    }
  };
  const train = read('train', trainCount);
  const evalLines = read('eval', evalCount);
  return train && evalLines ? { train, eval: evalLines } : null;
}

/** Every prepared dataset, newest first (folders without a readable meta.json are ignored). */
export function listPreparedDatasets(dataDir: string): PreparedDataset[] {
  const root = datasetsDir(dataDir);
  if (!fs.existsSync(root)) return [];
  const out: PreparedDataset[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !ID_RE.test(entry.name)) continue;
    try {
      out.push(readMeta(dataDir, entry.name));
    } catch {
      // not a complete dataset
    }
  }
  return out.sort((a, b) => b.createdAt - a.createdAt);
}

/** Deletes a prepared dataset folder; false when it did not exist. */
export function removePreparedDataset(dataDir: string, id: string): boolean {
  return removeDirSafely(preparedDatasetDir(dataDir, id));
}
