/**
 * `finetune export RUN_ID --format hf|predictions|recipe [--out PATH] [--input FILE]`:
 *   hf           a Hugging Face folder (weights, tokenizer, config with the labels, model card)
 *   recipe       train.py + config.json + the prepared data, for transformers.Trainer / accelerate
 *   predictions  with --input FILE: that file predicted by the run's model; without: the run's
 *                evaluation predictions. --out ending in .csv is the file; any other --out is a
 *                folder that gets predictions.csv (or eval_predictions.csv without --input).
 * Without --out, exports go to the run's exports/ folder. Exit codes: 0 ok, 1 failed, 2 usage;
 * errors are one line (`finetune export: ...`). A TTY shows a progress line; --json prints one JSON object at the end.
 */
import { EXPORT_FORMATS, type ExportFormat } from '../../shared/api';
import { formatBytes, formatCount, formatDuration, plural } from '../../shared/format';
import type { App } from '../app';
import { exportRun, type PredictionsExportResult } from '../export/index';
import { guarded, JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import { COLUMN_FLAGS } from './dataset-flags';
import type { CliIo } from './io';
import { taskProgressLine } from './progress';

export const EXPORT_SPEC: CommandSpec = {
  path: 'export',
  args: 'RUN_ID',
  positionals: { min: 1, max: 1 },
  summary: 'Export a run: a Hugging Face folder, predictions as CSV, a training recipe, or its keyword baseline.',
  flags: {
    format: { kind: 'string', value: 'F', required: true, choices: EXPORT_FORMATS, help: 'hf, predictions, recipe or baseline (the keyword baseline as JSON)' },
    out: { kind: 'path', value: 'PATH', help: "a folder (or, for predictions, a .csv file; for baseline, a .json file); default: the run's exports/ folder" },
    input: { kind: 'path', value: 'FILE', help: 'with --format predictions: the file to predict (default: the evaluation predictions)' },
    'text-column': COLUMN_FLAGS['text-column']!,
    overwrite: { kind: 'switch', help: 'replace a non-empty folder or a file that is not an earlier export' },
    json: JSON_FLAG,
  },
  notes: [
    '  --format hf           a Hugging Face folder: model.safetensors, tokenizer, config.json with the',
    '                        labels, and a README model card (loads with AutoModelForSequenceClassification)',
    '  --format recipe       train.py + config.json + the prepared data + requirements.txt, to train the',
    '                        same run with transformers.Trainer (python train.py, or accelerate launch train.py)',
    '  --format predictions  with --input FILE (CSV, TSV or JSON lines): its rows with predicted_label,',
    '                        confidence and prob_<label> columns; without --input: the evaluation predictions',
    '  --format baseline     the keyword baseline of the run\'s dataset as JSON (a folder or a .json file);',
    '                        it labels texts with: finetune predict --baseline FILE --text T',
    'COL is a column name (any case) or its number (1 = first column); default: the columns that look like text.',
  ],
};

async function run(app: App, argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(EXPORT_SPEC, argv, io);
  if (!args) return 0;
  const runId = args.positional[0]!;
  const format = args.string('format') as ExportFormat;
  const input = args.string('input');
  const textColumns = args.list('text-column');
  if (format !== 'predictions' && input) throw new UsageError('--input is only for --format predictions');
  if (textColumns.length && !input) throw new UsageError('--text-column needs --input FILE');
  const json = args.has('json');
  const out = args.string('out');

  let shown = false;
  let result;
  try {
    result = await exportRun(app.dataDir, runId, format, out, {
      runs: app.runs,
      input,
      textColumns: textColumns.length ? textColumns : undefined,
      overwrite: args.has('overwrite'),
      onProgress: (p) => {
        if (json || !io.isTTY || !io.write) return;
        io.write(taskProgressLine(p));
        shown = true;
      },
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
      io.out(`Predicted ${formatCount(p.rows)} rows of ${p.input} (text from ${p.textColumns.join(' + ')}) in ${formatDuration(p.seconds)}.`);
      if (p.emptyTexts) io.err(`note: ${p.emptyTexts} row(s) have an empty text; their prediction cells are empty.`);
      if (p.skipped.count) io.err(`note: ${p.skipped.count} row(s) could not be read and are not in the output (first: line ${p.skipped.rows[0]?.line}: ${p.skipped.rows[0]?.reason}).`);
      if (p.encodingNote) io.err(`note: ${p.encodingNote}`);
    } else {
      io.out(`Wrote the ${formatCount(predictions.rows)} evaluation predictions of run ${runId}.`);
    }
    io.out(`Predictions: ${result.path}`);
  } else if (result.format === 'hf') {
    io.out(`Exported run ${runId} as a Hugging Face folder (${plural(result.files.length, 'file')}, ${formatBytes(result.bytes)}): ${result.path}`);
    io.out('Load it with AutoModelForSequenceClassification.from_pretrained(PATH) and AutoTokenizer.from_pretrained(PATH).');
  } else if (result.format === 'baseline') {
    io.out(`Exported the keyword baseline of run ${runId} (${formatBytes(result.bytes)}): ${result.path}`);
    io.out(`Label texts with it: finetune predict --baseline ${JSON.stringify(result.path)} --text "..."`);
  } else {
    io.out(`Exported the training recipe of run ${runId} (${plural(result.files.length, 'file')}, ${formatBytes(result.bytes)}): ${result.path}`);
    io.out('Run it with: pip install -r requirements.txt && python train.py (or accelerate launch train.py on several GPUs).');
  }
  return 0;
}

/** The `export` command (the export room does the work, with the app's run records). */
export async function exportCommand(app: App, argv: string[], io: CliIo): Promise<number> {
  return guarded(io, () => 'export', () => run(app, argv, io));
}
