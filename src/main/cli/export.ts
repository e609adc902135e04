/**
 * `finetune export RUN_ID --format hf|predictions|recipe [--out PATH] [--input FILE]`:
 *   hf           a Hugging Face folder (weights, tokenizer, config with the labels, model card)
 *   recipe       train.py + config.json + the prepared data, for transformers.Trainer / accelerate
 *   predictions  with --input FILE: that file predicted by the run's model; without: the run's
 *                evaluation predictions. --out ending in .csv is the file; any other --out is a
 *                folder that gets predictions.csv (or eval_predictions.csv without --input).
 * Without --out, exports go to the run's exports/ folder. Exit codes: 0 ok, 1 failed, 2 usage;
 * errors are one line. A TTY shows a progress line; --json prints one JSON object at the end.
 */
import type { DataProgress } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import type { App } from '../app';
import { EXPORT_FORMATS, exportRun, type ExportFormat, type PredictionsExportResult } from '../export/index';
import { flag, parseFlags, UsageError } from './args';
import { formatSeconds } from './progress';
import type { CliIoWithWrite } from './train';

export const EXPORT_USAGE = [
  'Usage: finetune export RUN_ID --format hf|predictions|recipe [--out PATH] [--input FILE]',
  '         [--text-column COL]... [--overwrite] [--json]',
  '',
  '  --format hf           a Hugging Face folder: model.safetensors, tokenizer, config.json with the',
  '                        labels, and a README model card (loads with AutoModelForSequenceClassification)',
  '  --format recipe       train.py + config.json + the prepared data + requirements.txt, to train the',
  '                        same run with transformers.Trainer (python train.py, or accelerate launch train.py)',
  '  --format predictions  with --input FILE (CSV, TSV or JSON lines): its rows with predicted_label,',
  '                        confidence and prob_<label> columns; without --input: the evaluation predictions',
  '',
  '--out is a folder (hf, recipe; for predictions it gets predictions.csv, or eval_predictions.csv',
  'without --input) or, for predictions, a file ending in .csv. Default: the run\'s exports/ folder.',
  'A non-empty folder or existing file that is not an earlier export is replaced only with --overwrite.',
  'COL is a column name or its number (1 = first column); default: the columns that look like text.',
];

function describeBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} kB`;
  return `${n} B`;
}

const PHASES: Record<string, string> = { copying: 'Copying', reading: 'Reading', predicting: 'Predicting', writing: 'Writing' };

function progressLine(p: DataProgress): string {
  const what = PHASES[p.phase] ?? p.phase;
  const amount =
    p.unit === 'bytes'
      ? `${describeBytes(p.done)}${p.total ? ` of ${describeBytes(p.total)}` : ''}`
      : `${p.done.toLocaleString('en-US')}${p.total !== null ? `/${p.total.toLocaleString('en-US')}` : ''} rows`;
  const pct = p.total ? ` ${Math.floor((p.done / p.total) * 100)} %` : '';
  return `${what} ${amount}${pct} ETA ${formatSeconds(p.etaSeconds)}`;
}

async function run(app: App, argv: string[], io: CliIoWithWrite): Promise<number> {
  const f = parseFlags(argv, { values: ['format', 'out', 'input', 'text-column'], switches: ['json', 'overwrite'] });
  if (f.switches.has('help')) {
    EXPORT_USAGE.forEach((l) => io.out(l));
    return 0;
  }
  const runId = f.positional[0];
  if (!runId || f.positional.length > 1) throw new UsageError(f.positional.length > 1 ? `unexpected argument "${f.positional[1]}"` : EXPORT_USAGE[0]!.replace(/^Usage: /, 'usage: '));
  const format = flag(f, 'format');
  if (!format) throw new UsageError('--format is required: hf, predictions or recipe');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: "${format}" is not one of hf, predictions, recipe`);
  const input = flag(f, 'input');
  const textColumns = (f.values.get('text-column') ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (format !== 'predictions' && input) throw new UsageError('--input is only for --format predictions');
  if (textColumns.length && !input) throw new UsageError('--text-column needs --input FILE');
  const json = f.switches.has('json');
  const out = flag(f, 'out');

  let shown = false;
  const onProgress = (p: DataProgress): void => {
    if (json || !io.isTTY || !io.write) return;
    io.write(`\r${progressLine(p)}\x1b[K`);
    shown = true;
  };
  let result;
  try {
    result = await exportRun(app.dataDir, runId, format as ExportFormat, out, {
      runs: app.runs,
      input,
      textColumns: textColumns.length ? textColumns : undefined,
      overwrite: f.switches.has('overwrite'),
      onProgress,
      signal: io.signal,
    });
  } finally {
    if (shown && io.write) io.write('\n');
  }
  const predictions = result.format === 'predictions' ? (result as PredictionsExportResult) : null;
  if (json) {
    io.out(
      JSON.stringify({
        run_id: runId,
        format: result.format,
        path: result.path,
        files: result.files,
        bytes: result.bytes,
        ...(predictions ? { rows: predictions.rows } : {}),
        ...(predictions?.prediction
          ? {
              text_columns: predictions.prediction.textColumns,
              empty_texts: predictions.prediction.emptyTexts,
              skipped_rows: predictions.prediction.skipped.count,
              seconds: Math.round(predictions.prediction.seconds * 10) / 10,
            }
          : {}),
      }),
    );
    return 0;
  }
  if (predictions) {
    const p = predictions.prediction;
    if (p) {
      io.out(`Predicted ${p.rows.toLocaleString('en-US')} rows of ${p.input} (text from ${p.textColumns.join(' + ')}) in ${formatSeconds(p.seconds)}.`);
      if (p.emptyTexts) io.err(`note: ${p.emptyTexts} row(s) have an empty text; their prediction cells are empty.`);
      if (p.skipped.count) io.err(`note: ${p.skipped.count} row(s) could not be read and are not in the output (first: line ${p.skipped.rows[0]?.line}: ${p.skipped.rows[0]?.reason}).`);
      if (p.encodingNote) io.err(`note: ${p.encodingNote}`);
    } else {
      io.out(`Wrote the ${predictions.rows.toLocaleString('en-US')} evaluation predictions of run ${runId}.`);
    }
    io.out(`Predictions: ${result.path}`);
  } else if (result.format === 'hf') {
    io.out(`Exported run ${runId} as a Hugging Face folder (${result.files.length} files, ${describeBytes(result.bytes)}): ${result.path}`);
    io.out('Load it with AutoModelForSequenceClassification.from_pretrained(PATH) and AutoTokenizer.from_pretrained(PATH).');
  } else {
    io.out(`Exported the training recipe of run ${runId} (${result.files.length} files, ${describeBytes(result.bytes)}): ${result.path}`);
    io.out('Run it with: pip install -r requirements.txt && python train.py (or accelerate launch train.py on several GPUs).');
  }
  return 0;
}

/** The `export` command; errors are reported here as one line with exit code 1 (failed) or 2 (usage). */
export async function exportCommand(app: App, argv: string[], io: CliIoWithWrite): Promise<number> {
  try {
    return await run(app, argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`finetune export: ${err.message}`);
      return 2;
    }
    if (err instanceof AppError) {
      io.err(`finetune export: ${err.message}`);
      return err.code === 'invalid_input' ? 2 : 1;
    }
    throw err;
  }
}
