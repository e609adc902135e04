/** The Data step's logic: a fallback mapping, label names per column, the doctor's fixes. */
import type { TaskProgressEvent } from '../../../shared/api';
import type { DatasetCleaning, DatasetInspection, DatasetMapping, DoctorFinding, DoctorFix } from '../../../shared/dataset';
import { formatBytes, formatCount, formatDuration } from './format';
import type { WizardData } from './wizard.svelte';

/** When the app cannot propose a mapping: the longest text column, and another column as label. */
export function fallbackMapping(inspection: DatasetInspection): DatasetMapping {
  const cols = inspection.columns;
  const texts = cols.filter((c) => c.type === 'text').sort((a, b) => b.meanLength - a.meanLength);
  const text = texts[0]?.index ?? 0;
  const label = cols.find((c) => c.index !== text && (c.type === 'category' || c.type === 'number'))?.index ?? cols.find((c) => c.index !== text)?.index ?? 0;
  return { textColumns: [text], textSeparator: ' ', labelColumn: label, parse: inspection.parse };
}

/** The label names found beside the file (classes.txt) apply only to the column they were found for. */
export function labelNamesFor(inspection: DatasetInspection, labelColumn: number): Record<string, string> | undefined {
  const s = inspection.suggestedMapping;
  return s && s.labelColumn === labelColumn && s.labelNames ? { ...s.labelNames } : undefined;
}

/** Only the clean-ups that are on. */
export function cleaningOf(c: DatasetCleaning): DatasetCleaning {
  const out: DatasetCleaning = {};
  if (c.dropDuplicates) out.dropDuplicates = true;
  if (c.dropConflicting) out.dropConflicting = true;
  if (c.dropLeakedFromEval) out.dropLeakedFromEval = true;
  return out;
}

/** The max length a doctor fix proposes (its typed field), or null for another fix. */
export function maxLengthFromFix(fix: DoctorFix | undefined): number | null {
  return fix?.kind === 'max-length' ? fix.maxLength : null;
}

/** What the card says once its fix is applied, or null while it is not. */
export function findingFixApplied(f: DoctorFinding, w: Pick<WizardData, 'cleaning' | 'classWeightsByLabel' | 'options' | 'split'>): string | null {
  switch (f.fix?.kind) {
    case 'drop-duplicates':
      return w.cleaning.dropDuplicates ? 'Duplicates will be dropped when the dataset is prepared' : null;
    case 'drop-conflicting':
      return w.cleaning.dropConflicting ? 'Rows with conflicting labels will be dropped when the dataset is prepared' : null;
    case 'drop-leaked':
      return w.cleaning.dropLeakedFromEval ? 'Those evaluation rows will be dropped when the dataset is prepared' : null;
    case 'class-weights':
      return w.classWeightsByLabel || w.options.classWeights ? 'Class weights are on (see Settings)' : null;
    case 'max-length': {
      const n = maxLengthFromFix(f.fix);
      return n !== null && w.options.maxLength === n ? `Max length set to ${n} (see Settings)` : null;
    }
    case 'split-ratio':
      return w.split.kind === 'ratio' ? 'The training file is split' : null;
    default:
      return null;
  }
}

/** "1,200 of 5,000 rows · 3s left" for a task's progress line. */
export function taskDetail(p: TaskProgressEvent | null): string {
  if (!p) return '';
  const amount = (n: number) => (p.unit === 'bytes' ? formatBytes(n) : formatCount(n));
  const parts: string[] = [];
  if (p.phase) parts.push(p.phase.charAt(0).toUpperCase() + p.phase.slice(1));
  parts.push(p.total !== null ? `${amount(p.done)} of ${amount(p.total)}${p.unit === 'bytes' ? '' : ` ${p.unit}`}` : `${amount(p.done)}${p.unit === 'bytes' ? '' : ` ${p.unit}`}`);
  if (p.etaSeconds !== null && p.etaSeconds > 0) parts.push(`${formatDuration(p.etaSeconds)} left`);
  return parts.join(' · ');
}
