/**
 * The Settings step's logic: each field's label, help and input kind, parsing what was typed, and
 * validation of every field with the reason (the same zod schema the app checks runs with).
 */
import type { TokenLengthReport } from '../../../shared/dataset';
import { trainingOptionsSchema, type TrainingOptions } from '../../../shared/run-config';

export type OptionKey = keyof TrainingOptions;
export type NumberKind = 'int' | 'float';

export interface NumberField {
  key: OptionKey;
  label: string;
  help: string;
  kind: NumberKind;
  /** null allowed: an empty input means "off" (shown as offLabel). */
  nullable?: boolean;
  offLabel?: string;
  min?: number;
  step?: number;
}

export const BASIC_FIELDS: NumberField[] = [
  { key: 'epochs', label: 'Epochs', help: 'Passes over the training rows. 2–4 is typical for fine-tuning.', kind: 'float', min: 0, step: 1 },
  { key: 'learningRate', label: 'Learning rate', help: 'How big each learning step is. 1e-5 to 5e-5 for a pretrained model; about 1e-3 in quick mode or for a model from scratch.', kind: 'float' },
  { key: 'batchSize', label: 'Batch size', help: 'Texts per step. Larger is faster per text but needs more memory.', kind: 'int', min: 1 },
  { key: 'maxLength', label: 'Max length (tokens)', help: 'Longer texts are cut to this many tokens. Time grows with it.', kind: 'int', min: 8, step: 16 },
];

export const ADVANCED_FIELDS: NumberField[] = [
  { key: 'warmupRatio', label: 'Warm-up ratio', help: 'Share of the steps during which the learning rate rises from 0.', kind: 'float', min: 0, step: 0.05 },
  { key: 'warmupSteps', label: 'Warm-up steps', help: 'When above 0, replaces the ratio.', kind: 'int', min: 0 },
  { key: 'weightDecay', label: 'Weight decay', help: 'Keeps the weights small, which helps against learning the training rows by heart. 0.01 is usual.', kind: 'float', min: 0, step: 0.01 },
  { key: 'gradientAccumulationSteps', label: 'Gradient accumulation', help: 'Batches added up before each learning step: the effect of a larger batch without the memory.', kind: 'int', min: 1 },
  { key: 'maxGradNorm', label: 'Gradient clipping', help: 'Limits how far one step can move the model, against sudden jumps. 1.0 is usual.', kind: 'float', min: 0, step: 0.1 },
  { key: 'seed', label: 'Seed', help: 'Same seed, same data and settings: the same run.', kind: 'int', min: 0 },
  { key: 'earlyStoppingPatience', label: 'Early stopping patience', help: 'Stop after this many evaluations without improvement. Empty: never stop early.', kind: 'int', nullable: true, offLabel: 'off', min: 1 },
  { key: 'evalEverySteps', label: 'Evaluate every N steps', help: 'Empty: evaluate at the end of each epoch.', kind: 'int', nullable: true, offLabel: 'each epoch', min: 1 },
  { key: 'evalBatchSize', label: 'Evaluation batch size', help: 'Texts per evaluation batch (no gradients: can be larger).', kind: 'int', min: 1 },
];

/** How a number is shown in its input: learning rates in the 2e-5 notation people use. */
export function formatOptionValue(value: number | null): string {
  if (value === null) return '';
  if (value !== 0 && Math.abs(value) < 1e-3) {
    const [m, e] = value.toExponential().split('e');
    return `${Number(Number(m).toPrecision(6))}e${Number(e)}`;
  }
  return String(value);
}

/** What was typed: a number, null for an empty optional field, or NaN when it is not a number. */
export function parseOptionInput(raw: string, field: Pick<NumberField, 'nullable'>): number | null {
  const t = raw.trim().replace(/,/g, '.');
  if (t === '') return field.nullable ? null : NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

/** A plain message for a zod issue the schema gave no message of its own. */
function plainIssueMessage(issue: { code?: string; expected?: unknown; minimum?: unknown; maximum?: unknown }): string | undefined {
  if (issue.code === 'invalid_type') return issue.expected === 'int' ? 'enter a whole number' : 'enter a number';
  if (issue.code === 'too_small' && issue.minimum !== undefined) return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big' && issue.maximum !== undefined) return `must be at most ${String(issue.maximum)}`;
  return undefined;
}

/** The reason a value is refused, or null when it is valid. */
export function validateOption(key: OptionKey, value: unknown): string | null {
  if (typeof value === 'number' && !Number.isFinite(value)) return 'enter a number';
  const schema = trainingOptionsSchema.shape[key];
  // The schema's own messages are for people and win; this error map words the checks that have
  // none, by zod's issue code (never by zod's English wording, which is for developers).
  const r = schema.safeParse(value, { error: plainIssueMessage });
  if (r.success) return null;
  return r.error.issues[0]?.message ?? 'not a valid value';
}

/** Plain names of every recorded setting (the Compare page's rows); the raw key stays as a tooltip. */
export const SETTING_LABELS: Record<string, string> = {
  ...Object.fromEntries([...BASIC_FIELDS, ...ADVANCED_FIELDS].map((f) => [`options.${f.key}`, f.label])),
  'options.bestMetric': 'Best model picked by',
  'options.classWeights': 'Class weights',
  'options.freezeEncoder': 'Quick mode (only the last layer trains)',
  'options.groupByLength': 'Group texts of similar length',
  name: 'Run name',
  labels: 'Labels',
  modelStart: 'Model start',
  'model.source': 'Model',
  'dataset.fingerprint': 'Dataset ID',
  'dataset.name': 'Dataset',
  'dataset.trainCount': 'Training rows',
  'dataset.evalCount': 'Evaluation rows',
};

/** A setting's plain name, or its key when there is none. */
export function settingLabel(key: string): string {
  return SETTING_LABELS[key] ?? key;
}

export type OptionErrors = Partial<Record<OptionKey, string>>;

/** Every field's problem, plus the class weights' count against the labels. */
export function validateOptions(o: TrainingOptions, labelCount: number | null): OptionErrors {
  const errors: OptionErrors = {};
  for (const key of Object.keys(trainingOptionsSchema.shape) as OptionKey[]) {
    const e = validateOption(key, o[key]);
    if (e) errors[key] = e;
  }
  if (!errors.classWeights && o.classWeights && labelCount !== null && o.classWeights.length !== labelCount) {
    errors.classWeights = `give one class weight per label (${labelCount})`;
  }
  return errors;
}

/**
 * Share of the measured rows longer than maxLength tokens, from the doctor's histogram: exact at
 * the length it was measured with, interpolated within a bin elsewhere.
 */
export function truncatedShareAt(report: TokenLengthReport, maxLength: number): number {
  if (report.measured === 0) return 0;
  if (maxLength === report.maxLength) return report.truncatedShare;
  let longer = 0;
  for (const b of report.bins) {
    const to = b.to ?? Math.max(report.max + 1, b.from + 1);
    if (b.from > maxLength) longer += b.count;
    else if (to > maxLength + 1) {
      // Part of the bin above maxLength (lengths are whole tokens: > maxLength means >= maxLength + 1).
      const width = to - b.from;
      longer += (b.count * (to - (maxLength + 1))) / width;
    }
  }
  return Math.min(1, Math.max(0, longer / report.measured));
}

/** The weights as the input shows them: "1.13, 1, 1.04, 0.87". */
export function formatWeights(weights: readonly number[]): string {
  return weights.map((w) => String(Number(w.toFixed(3)))).join(', ');
}

export function parseWeights(raw: string): number[] | null {
  const parts = raw.split(/[,;\s]+/).filter(Boolean);
  if (parts.length === 0) return null;
  const out = parts.map((p) => Number(p));
  return out.every((n) => Number.isFinite(n)) ? out : null;
}
