/**
 * The wizard's choices (file, mapping, split, prepared dataset, model, settings, current run),
 * kept in localStorage so that a reload or a restart comes back to where the user was. What is
 * expensive to recompute but cheap to fetch again (the inspection, the doctor's report) is not
 * stored: the steps fetch it again.
 */
import type { DatasetCleaning, DatasetMapping, ParseSettings, SplitSpec } from '../../../shared/dataset';
import { rememberFileName } from './app-error';
import { START_PRESETS, type ModelStart } from '../../../shared/learning-check';
import { MLM_ON_FOR_SCRATCH, MLM_SCRATCH_EPOCHS, PRESETS, RECOMMENDED_OPTIONS, trainingOptionsSchema, type TrainingOptions } from '../../../shared/run-config';
import { ownValue } from '../../../shared/own';

/**
 * The presets the Settings step offers: the shared ones, plus one for a model started from scratch
 * (a random encoder needs a much larger learning rate than a pretrained one: learning-check.ts).
 */
export const WIZARD_PRESETS = {
  ...PRESETS,
  scratch: {
    label: 'From scratch',
    description: `For a model started from scratch: ${START_PRESETS.scratch.epochs} epochs at a learning rate of 1e-3 with warm-up (2e-5 leaves a random model where it started).`,
    options: { ...RECOMMENDED_OPTIONS, ...START_PRESETS.scratch },
  },
} satisfies Record<string, { label: string; description: string; options: TrainingOptions }>;

export type PresetId = keyof typeof WIZARD_PRESETS;
export const PRESET_IDS = Object.keys(WIZARD_PRESETS) as PresetId[];

/** The presets to show for a model: the scratch one first for a model from scratch, hidden otherwise. */
export function presetsFor(start: ModelStart): PresetId[] {
  return start === 'scratch' ? ['scratch', 'fast', 'recommended', 'thorough'] : ['recommended', 'fast', 'thorough'];
}

/** The preset proposed for a model: the Recommended one, or the scratch one for a random model. */
export function defaultPresetFor(start: ModelStart): PresetId {
  return start === 'scratch' ? 'scratch' : 'recommended';
}

export const STORAGE_KEY = 'finetune-studio.wizard.v1';

export interface WizardData {
  /** The dataset file (its path on the app's side: uploaded files live in the data folder). */
  file: string | null;
  fileName: string | null;
  /** How the file is read, as detected (or chosen). */
  parse: ParseSettings | null;
  mapping: DatasetMapping | null;
  split: SplitSpec;
  /** Display name of the evaluation file when split.kind is 'file'. */
  evalFileName: string | null;
  cleaning: DatasetCleaning;
  /** The prepared dataset the run trains on. */
  datasetId: string | null;
  datasetName: string | null;
  /** A Hub id or a model folder. */
  model: string | null;
  modelLabel: string | null;
  /** Whether the model starts from pretrained weights or from scratch (random weights). */
  modelStart: ModelStart;
  options: TrainingOptions;
  preset: PresetId | 'custom';
  /** Class weights asked for by the data doctor's fix, by label, applied once labels are known. */
  classWeightsByLabel: Record<string, number> | null;
  runName: string;
  /** The run the Train and Results steps follow. */
  runId: string | null;
  /** "Adapt the model to your texts first": masked-LM adaptation before fine-tuning. */
  mlm: WizardMlm;
}

export interface WizardMlm {
  enabled: boolean;
  epochs: number;
  /** A file of unlabelled texts added to the training texts; null: the training texts only. */
  extraTextsFile: string | null;
}

/** Off for pretrained models; for a model from scratch as MLM_ON_FOR_SCRATCH says (measured: off). */
export function defaultMlm(start: ModelStart): WizardMlm {
  return { enabled: start === 'scratch' && MLM_ON_FOR_SCRATCH, epochs: MLM_SCRATCH_EPOCHS, extraTextsFile: null };
}

function parseMlm(v: unknown, start: ModelStart): WizardMlm {
  const o = obj(v);
  if (!o) return defaultMlm(start);
  const epochs = typeof o.epochs === 'number' && Number.isInteger(o.epochs) && o.epochs >= 1 && o.epochs <= 100 ? o.epochs : MLM_SCRATCH_EPOCHS;
  return { enabled: o.enabled === true, epochs, extraTextsFile: str(o.extraTextsFile) };
}

export const DEFAULT_SPLIT: SplitSpec = { kind: 'ratio', evalRatio: 0.2, seed: 42 };

export function defaultWizard(): WizardData {
  return {
    file: null,
    fileName: null,
    parse: null,
    mapping: null,
    split: { ...DEFAULT_SPLIT },
    evalFileName: null,
    cleaning: {},
    datasetId: null,
    datasetName: null,
    model: null,
    modelLabel: null,
    modelStart: 'pretrained',
    options: { ...RECOMMENDED_OPTIONS },
    preset: 'recommended',
    classWeightsByLabel: null,
    runName: '',
    runId: null,
    mlm: defaultMlm('pretrained'),
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

function parseSplit(v: unknown): SplitSpec {
  const o = obj(v);
  if (o?.kind === 'file' && typeof o.evalFile === 'string') return { kind: 'file', evalFile: o.evalFile };
  if (o?.kind === 'ratio' && typeof o.evalRatio === 'number' && o.evalRatio > 0 && o.evalRatio < 1 && Number.isInteger(o.seed)) {
    return { kind: 'ratio', evalRatio: o.evalRatio, seed: o.seed as number };
  }
  return { ...DEFAULT_SPLIT };
}

function parseMapping(v: unknown): DatasetMapping | null {
  const o = obj(v);
  if (!o) return null;
  const text = Array.isArray(o.textColumns) ? o.textColumns.filter((n): n is number => Number.isInteger(n) && (n as number) >= 0) : [];
  if (text.length === 0 || !Number.isInteger(o.labelColumn)) return null;
  const m: DatasetMapping = { textColumns: text, textSeparator: typeof o.textSeparator === 'string' ? o.textSeparator : ' ', labelColumn: o.labelColumn as number };
  const names = obj(o.labelNames);
  if (names && Object.values(names).every((x) => typeof x === 'string')) m.labelNames = names as Record<string, string>;
  const parse = obj(o.parse);
  if (parse) m.parse = parse as DatasetMapping['parse'];
  return m;
}

/** Reads the saved wizard; anything missing or malformed falls back to its default. */
export function parseWizard(raw: string | null): WizardData {
  const d = defaultWizard();
  if (!raw) return d;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return d;
  }
  const o = obj(v);
  if (!o) return d;
  const options = trainingOptionsSchema.safeParse({ ...RECOMMENDED_OPTIONS, ...(obj(o.options) ?? {}) });
  const weights = obj(o.classWeightsByLabel);
  return {
    file: str(o.file),
    fileName: str(o.fileName),
    parse: (obj(o.parse) as ParseSettings | null) ?? null,
    mapping: parseMapping(o.mapping),
    split: parseSplit(o.split),
    evalFileName: str(o.evalFileName),
    cleaning: {
      dropDuplicates: obj(o.cleaning)?.dropDuplicates === true || undefined,
      dropConflicting: obj(o.cleaning)?.dropConflicting === true || undefined,
      dropLeakedFromEval: obj(o.cleaning)?.dropLeakedFromEval === true || undefined,
    },
    datasetId: str(o.datasetId),
    datasetName: str(o.datasetName),
    model: str(o.model),
    modelLabel: str(o.modelLabel),
    modelStart: o.modelStart === 'scratch' ? 'scratch' : 'pretrained',
    options: options.success ? options.data : { ...RECOMMENDED_OPTIONS },
    preset: o.preset === 'custom' || (typeof o.preset === 'string' && o.preset in WIZARD_PRESETS) ? (o.preset as PresetId | 'custom') : 'recommended',
    classWeightsByLabel: weights && Object.values(weights).every((x) => typeof x === 'number' && x > 0) ? (weights as Record<string, number>) : null,
    runName: typeof o.runName === 'string' ? o.runName : '',
    runId: str(o.runId),
    mlm: parseMlm(o.mlm, o.modelStart === 'scratch' ? 'scratch' : 'pretrained'),
  };
}

/** Drops undefined cleaning flags so that the saved JSON stays small and stable. */
export function serializeWizard(d: WizardData): string {
  const cleaning = Object.fromEntries(Object.entries(d.cleaning).filter(([, v]) => v === true));
  return JSON.stringify({ ...d, cleaning });
}

/** Which preset the options equal (class weights aside: they belong to the dataset), or 'custom'. */
export function presetOf(options: TrainingOptions): PresetId | 'custom' {
  for (const id of PRESET_IDS) {
    const p = WIZARD_PRESETS[id].options;
    const keys = (Object.keys(p) as (keyof TrainingOptions)[]).filter((k) => k !== 'classWeights');
    const same = keys.every((k) => JSON.stringify(p[k]) === JSON.stringify(options[k]));
    if (same) return id;
  }
  return 'custom';
}

export class Wizard {
  data = $state<WizardData>(defaultWizard());

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = typeof localStorage === 'undefined' ? null : localStorage) {
    try {
      this.data = parseWizard(this.storage?.getItem(STORAGE_KEY) ?? null);
    } catch {
      this.data = defaultWizard();
    }
    this.rememberNames();
  }

  /** Messages name the user's files, not their uploaded copies (app-error.ts displayText). */
  rememberNames(): void {
    if (this.data.file && this.data.fileName) rememberFileName(this.data.file, this.data.fileName);
    if (this.data.split.kind === 'file' && this.data.evalFileName) rememberFileName(this.data.split.evalFile, this.data.evalFileName);
  }

  save(): void {
    try {
      this.storage?.setItem(STORAGE_KEY, serializeWizard(this.data));
    } catch {
      // Storage full or disabled: the wizard still works, it just will not survive a reload.
    }
  }

  /**
   * A new file: everything that depended on the previous one is forgotten (its separate test file,
   * the run and its name). The model and settings stay as a suggestion.
   */
  setFile(file: string, fileName: string): void {
    Object.assign(this.data, {
      file,
      fileName,
      parse: null,
      mapping: null,
      split: { ...DEFAULT_SPLIT },
      evalFileName: null,
      datasetId: null,
      datasetName: null,
      cleaning: {},
      classWeightsByLabel: null,
      runName: '',
      runId: null,
    } satisfies Partial<WizardData>);
    if (this.data.options.classWeights) this.data.options.classWeights = null;
    this.rememberNames();
    this.data.preset = presetOf(this.data.options);
    this.save();
  }

  /** A mapping or split change makes the prepared dataset stale. */
  invalidateDataset(): void {
    this.data.datasetId = null;
    this.data.datasetName = null;
  }

  setDataset(id: string, name: string, labels: readonly string[]): void {
    this.data.datasetId = id;
    this.data.datasetName = name;
    const byLabel = this.data.classWeightsByLabel;
    if (byLabel) {
      this.data.options.classWeights = labels.map((l) => ownValue(byLabel, l) ?? 1);
      this.data.preset = presetOf(this.data.options);
    } else if (this.data.options.classWeights && this.data.options.classWeights.length !== labels.length) {
      this.data.options.classWeights = null;
    }
    this.save();
  }

  /**
   * The model, and where it starts from. Moving between a pretrained model and one from scratch
   * proposes the preset that suits it, unless the user changed the values (custom).
   */
  setModel(model: string, label: string, start: ModelStart = 'pretrained'): void {
    const changedStart = start !== this.data.modelStart;
    this.data.model = model;
    this.data.modelLabel = label;
    this.data.modelStart = start;
    if (changedStart && this.data.preset !== 'custom') this.applyPreset(defaultPresetFor(start));
    if (changedStart) this.data.mlm = { ...this.data.mlm, enabled: defaultMlm(start).enabled };
    this.save();
  }

  setMlm(patch: Partial<WizardMlm>): void {
    this.data.mlm = { ...this.data.mlm, ...patch };
    this.save();
  }

  applyPreset(id: PresetId): void {
    const weights = this.data.options.classWeights;
    this.data.options = { ...WIZARD_PRESETS[id].options, classWeights: weights };
    this.data.preset = presetOf(this.data.options);
    this.save();
  }

  setOption<K extends keyof TrainingOptions>(key: K, value: TrainingOptions[K]): void {
    this.data.options[key] = value;
    this.data.preset = presetOf(this.data.options);
    this.save();
  }

  setRun(id: string | null): void {
    this.data.runId = id;
    this.save();
  }

  /**
   * Prefills the wizard from a finished run ("Run again" with changes): its dataset, model and
   * settings, with a suggested change (the learning check's) applied on top.
   */
  prefillFromRun(run: { name: string; datasetId: string; datasetName: string; model: string; modelLabel: string; modelStart: ModelStart; options: TrainingOptions }, change: Partial<TrainingOptions> = {}): void {
    this.data.datasetId = run.datasetId;
    this.data.datasetName = run.datasetName;
    this.data.model = run.model;
    this.data.modelLabel = run.modelLabel;
    this.data.modelStart = run.modelStart;
    this.data.options = { ...run.options, ...change };
    this.data.preset = presetOf(this.data.options);
    this.data.runName = `${run.name} (again)`;
    this.data.runId = null;
    this.save();
  }

  /** Start over: a new dataset, keeping the model and settings. */
  reset(): void {
    const keep = { model: this.data.model, modelLabel: this.data.modelLabel, modelStart: this.data.modelStart, options: this.data.options, preset: this.data.preset };
    Object.assign(this.data, { ...defaultWizard(), ...keep });
    this.save();
  }
}

export const wizard = new Wizard();
