/**
 * The Data step's state and actions, shared by its cards (wizard/data/*.svelte). It lives at module
 * level, not in the page: leaving the step and coming back does not read the file again (a 31 MB
 * file took 30 s); it is read again only for another file, and the data check runs again only when
 * the file, the columns or the split changed.
 */
import type { DatasetInspection, DatasetMapping, DatasetPreview, DoctorReport, ParseSettings, PreparedDataset, SplitSpec } from '../../../shared/dataset';
import type { AppError } from '../../../shared/errors';
import { api, toAppError } from './api';
import { cleaningOf, fallbackMapping, labelNamesFor } from './data-step';
import { readingChoices, type Reading } from './readings';
import { Task } from './task.svelte';
import { wizard } from './wizard.svelte';

export class DataStepState {
  readonly inspectTask = new Task(api, 'inspect');
  readonly doctorTask = new Task(api, 'doctor');
  readonly prepareTask = new Task(api, 'prepare');

  inspection = $state.raw<DatasetInspection | null>(null);
  preview = $state.raw<DatasetPreview | null>(null);
  doctor = $state.raw<DoctorReport | null>(null);
  prepared = $state.raw<PreparedDataset | null>(null);
  pastDatasets = $state.raw<PreparedDataset[]>([]);
  error = $state.raw<AppError | null>(null);
  sourceMissing = $state(false);
  /** The ways an ambiguous file can be read (from its first inspection), to choose from; empty when it reads one way. */
  readings = $state.raw<Reading[]>([]);
  /** The file the inspection belongs to (null while none is complete). */
  inspectedFile: string | null = null;
  /** What the doctor's report was made for: file, mapping and split. */
  private doctorKey: string | null = null;
  private doctorSeq = 0;
  private doctorTimer: ReturnType<typeof setTimeout> | undefined;

  get w() {
    return wizard.data;
  }

  /** Reads the file unless its inspection is already here; runs the data check if it is stale. */
  ensureLoaded(file: string): void {
    if (file !== this.inspectedFile) void this.load(file);
    else if (this.inspection && this.doctorKey !== this.currentDoctorKey()) this.runDoctor(0);
  }

  /** A file opened again (it may have changed on disk): the next visit reads it again. */
  forget(): void {
    this.inspectedFile = null;
    this.doctorKey = null;
  }

  /** Leaving the step: stop what is running; an unfinished read is read again next time. */
  leave(): void {
    clearTimeout(this.doctorTimer);
    if (this.inspectTask.running) {
      this.inspectedFile = null;
      void this.inspectTask.cancel();
    }
    if (this.doctorTask.running) {
      this.doctorKey = null;
      void this.doctorTask.cancel();
    }
  }

  async refreshPast(): Promise<void> {
    try {
      this.pastDatasets = (await api.listDatasets()).sort((a, b) => b.createdAt - a.createdAt);
    } catch {
      this.pastDatasets = [];
    }
  }

  async load(file: string, forced?: ParseSettings): Promise<void> {
    const w = this.w;
    if (!forced) this.readings = [];
    this.inspectedFile = file;
    this.inspection = null;
    this.preview = null;
    this.doctor = null;
    this.doctorKey = null;
    this.sourceMissing = false;
    this.error = null;
    const overrides = forced ?? (w.mapping && w.parse ? { ...w.parse, labelColumn: w.mapping.labelColumn } : undefined);
    const r = await this.inspectTask.run((id) => api.inspectDataset(file, overrides, id));
    if (!r || this.inspectedFile !== file) {
      if (this.inspectedFile === file) this.inspectedFile = null;
      if (this.inspectTask.error && w.datasetId && (this.inspectTask.error.code === 'not_found' || this.inspectTask.error.code === 'io')) {
        this.sourceMissing = true;
        this.inspectedFile = file;
        this.inspectTask.clearError();
      }
      return;
    }
    this.inspection = r;
    w.parse = r.parse;
    if (!forced) this.readings = readingChoices(r);
    if (!w.mapping || w.mapping.textColumns.some((c) => c >= r.columns.length) || w.mapping.labelColumn >= r.columns.length) {
      w.mapping = r.suggestedMapping ? { ...r.suggestedMapping } : fallbackMapping(r);
    }
    try {
      this.preview = await api.previewDataset(file, 12, r.parse);
    } catch (err) {
      this.error = toAppError(err);
    }
    this.runDoctor(0);
  }

  private currentDoctorKey(): string | null {
    const w = this.w;
    if (!w.file || !w.mapping) return null;
    return JSON.stringify([w.file, w.mapping, w.split]);
  }

  /** The doctor looks at the file with the current mapping and split (debounced). */
  runDoctor(delay = 300): void {
    clearTimeout(this.doctorTimer);
    this.doctorTimer = setTimeout(async () => {
      const w = this.w;
      const file = w.file;
      const m = w.mapping;
      if (!file || !m) return;
      const seq = ++this.doctorSeq;
      const key = this.currentDoctorKey();
      const split = $state.snapshot(w.split) as SplitSpec;
      const r = await this.doctorTask.run((id) => api.doctorDataset({ kind: 'file', file, mapping: $state.snapshot(m) as DatasetMapping, split }, {}, id));
      if (r && seq === this.doctorSeq) {
        this.doctor = r;
        this.doctorKey = key;
      }
    }, delay);
  }

  changed(): void {
    wizard.invalidateDataset();
    this.runDoctor();
  }

  setTextColumn(i: number, col: number): void {
    const m = this.w.mapping;
    if (!m) return;
    m.textColumns[i] = col;
    this.changed();
  }

  addTextColumn(): void {
    const m = this.w.mapping;
    if (!m) return;
    const free = (this.inspection?.columns ?? []).find((c) => !m.textColumns.includes(c.index) && c.index !== m.labelColumn);
    if (free) m.textColumns.push(free.index);
    this.changed();
  }

  removeTextColumn(i: number): void {
    const m = this.w.mapping;
    if (!m || m.textColumns.length <= 1) return;
    m.textColumns.splice(i, 1);
    this.changed();
  }

  async setLabelColumn(col: number): Promise<void> {
    const w = this.w;
    const inspection = this.inspection;
    if (!w.mapping || !w.file || !inspection) return;
    w.mapping.labelColumn = col;
    const names = labelNamesFor(inspection, col);
    if (names) w.mapping.labelNames = names;
    else delete w.mapping.labelNames;
    this.changed();
    const file = w.file;
    const r = await this.inspectTask.run((id) => api.inspectDataset(file, { ...inspection.parse, labelColumn: col }, id));
    if (r && w.file === file) this.inspection = r;
  }

  /** The user chose another reading of an ambiguous file: read it again that way, with the mapping it suggests. */
  async chooseReading(parse: ParseSettings): Promise<void> {
    const file = this.w.file;
    if (!file) return;
    this.readings = this.readings.map((r) => ({ ...r, current: r.parse === parse }));
    this.w.mapping = null;
    this.changed();
    await this.load(file, parse);
  }

  setLabelName(raw: string, name: string): void {
    const m = this.w.mapping;
    if (!m) return;
    // Entries, not `names[raw] = ...`: a label named `__proto__` must stay an ordinary key.
    const entries = Object.entries(m.labelNames ?? {}).filter(([k]) => k !== raw);
    if (name.trim()) entries.push([raw, name.trim()]);
    if (entries.length) m.labelNames = Object.fromEntries(entries);
    else delete m.labelNames;
    this.changed();
  }

  setSplit(next: SplitSpec): void {
    this.w.split = next;
    this.changed();
  }

  async prepare(): Promise<void> {
    const w = this.w;
    if (!w.file || !w.mapping) return;
    const request = {
      file: w.file,
      mapping: $state.snapshot(w.mapping) as DatasetMapping,
      split: $state.snapshot(w.split) as SplitSpec,
      cleaning: cleaningOf(w.cleaning),
      name: w.fileName ?? undefined,
    };
    const ds = await this.prepareTask.run((id) => api.prepareDataset(request, id));
    if (!ds) return;
    this.prepared = ds;
    wizard.setDataset(ds.id, ds.name, ds.labels);
    void this.refreshPast();
  }

  usePrepared(ds: PreparedDataset): void {
    this.prepared = ds;
    Object.assign(this.w, {
      file: ds.source.file,
      fileName: ds.name,
      parse: ds.parse,
      mapping: ds.mapping,
      split: ds.split,
      evalFileName: ds.evalSource ? (ds.evalSource.file.split(/[\\/]/).pop() ?? null) : null,
      cleaning: { ...ds.cleaning },
      classWeightsByLabel: null,
    });
    wizard.setDataset(ds.id, ds.name, ds.labels);
  }

  async deleteDataset(ds: PreparedDataset): Promise<void> {
    try {
      await api.deleteDataset(ds.id);
      if (this.w.datasetId === ds.id) wizard.invalidateDataset();
      if (this.prepared?.id === ds.id) this.prepared = null;
      this.error = null;
    } catch (err) {
      this.error = toAppError(err);
    }
    await this.refreshPast();
  }

  onEvalFile(path: string, name: string): void {
    this.w.evalFileName = name;
    this.setSplit({ kind: 'file', evalFile: path });
  }
}

export const dataStep = new DataStepState();
