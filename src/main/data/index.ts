/**
 * Dataset import, the public surface: inspect a file, preview its first rows, prepare an
 * immutable fingerprinted copy (stratified split or an evaluation file), load it back for the
 * engine, list and remove prepared datasets, and run the data doctor.
 *
 * Every long call takes { onProgress, signal }: progress is { phase, done, total, unit, etaSeconds },
 * and aborting the signal ends the call with AppError('cancelled') leaving nothing behind.
 */
export { inspectDataset, previewDataset, describeParse, type InspectOptions, type PreviewOptions } from './inspect';
export {
  prepareDataset,
  loadPreparedDataset,
  sampleTrainRows,
  listPreparedDatasets,
  getPreparedDataset,
  removePreparedDataset,
  preparedDatasetDir,
  datasetsDir,
  stratifiedEvalMask,
  type PrepareOptions,
  type LoadPreparedOptions,
} from './prepare';
export {
  doctorDataset,
  balanceOf,
  tokenLengthReport,
  DoctorAccumulator,
  DEFAULT_MAX_LENGTH,
  DEFAULT_MIN_CLASS_SIZE,
  IMBALANCE_RATIO,
  type DoctorInput,
  type DoctorRow,
  type DoctorDatasetOptions,
  type DoctorRunOptions,
} from './doctor';
export { resolveFormat, type ResolvedFormat } from './format';
export { readRecords, type DataRecord, type ReadSummary } from './records';
export { readMappedRows, joinTextColumns, type MappedRow } from './mapping';
export type { LongTaskOptions, ProgressListener } from './progress';
