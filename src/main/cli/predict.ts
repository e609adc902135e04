/**
 * `finetune eval` (metrics of a trained model on a labelled file) and `finetune predict`
 * (labels and probabilities for texts or a file). They need a model, not the app's database:
 * nothing here opens it. The engine runs in this process: the CLI has no window to keep responsive.
 */
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { formatPercent, formatProbability, plural } from '../../shared/format';
import { inspectDataset } from '../data';
import { initBackend } from '../engine/backends/start';
import { Predictor } from '../engine/inference';
import { predictFile } from '../export/predict-file';
import { readTable } from '../export/predictions';
import { JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import { COLUMN_FLAGS, COLUMN_NOTE, mappingFromArgs, READ_FLAGS, readOverrides } from './dataset-flags';
import type { CliIo } from './io';
import { resolveModelArg } from './model-arg';
import { taskProgressLine } from './progress';
import { ownValue } from '../../shared/own';

const MODEL_FLAG = { kind: 'path', value: 'DIR|HUB_ID', required: true, help: 'a trained model folder (a run\'s model, an export, or a Hub id)' } as const;
const LENGTH_FLAGS = {
  'max-length': { kind: 'number', integer: true, min: 8, max: 8192, value: 'N', help: 'tokens per text (default: the model\'s training length)' },
  'batch-size': { kind: 'number', integer: true, min: 1, max: 4096, value: 'N', help: 'rows per batch' },
} as const;

export const EVAL_SPEC: CommandSpec = {
  path: 'eval',
  summary: 'Accuracy, macro-F1 and per-class metrics of a model on a labelled file.',
  flags: { model: MODEL_FLAG, data: { kind: 'path', value: 'FILE', required: true, help: 'a labelled CSV, TSV or JSONL file' }, ...COLUMN_FLAGS, ...READ_FLAGS, ...LENGTH_FLAGS, json: JSON_FLAG },
  notes: [COLUMN_NOTE],
};

export const PREDICT_SPEC: CommandSpec = {
  path: 'predict',
  summary: 'Labels and probabilities for texts (--text) or for every row of a file (--input, --output).',
  flags: {
    model: MODEL_FLAG,
    text: { kind: 'string', value: 'T', repeat: true, help: 'a text to classify (repeat for several)' },
    input: { kind: 'path', value: 'FILE', help: 'a CSV, TSV or JSONL file to predict' },
    output: { kind: 'path', value: 'FILE', help: 'the CSV to write: the input columns, predicted_label, confidence, prob_<label>' },
    'text-column': COLUMN_FLAGS['text-column']!,
    'raw-csv': { kind: 'switch', help: 'write cells starting with = + - @ as they are (by default they get a leading \' so a spreadsheet does not run them as formulas)' },
    ...LENGTH_FLAGS,
    json: JSON_FLAG,
  },
  notes: [COLUMN_NOTE, 'With --baseline FILE (a keyword baseline from `finetune baseline --export FILE`) instead of --model: labels of --text T.'],
};

async function loadPredictor(modelArg: string, io: CliIo): Promise<Predictor> {
  const dir = await resolveModelArg(modelArg, io);
  await initBackend(null);
  return Predictor.load(dir);
}

export async function evalCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(EVAL_SPEC, argv, io);
  if (!args) return 0;
  const file = args.string('data')!;
  const json = args.has('json');
  const inspection = await inspectDataset(file, { overrides: readOverrides(args), signal: io.signal });
  const mapping = mappingFromArgs(args, inspection);
  const predictor = await loadPredictor(args.string('model')!, io);
  try {
    const known = new Map(predictor.labels.map((l, i) => [l.trim().toLowerCase(), i]));
    const table = await readTable(file, mapping.parse ?? {}, io.signal);
    const rows = table.rows.map((r) => {
      const raw = (r.fields[mapping.labelColumn] ?? '').trim();
      const name = (ownValue(mapping.labelNames, raw) ?? raw).trim();
      const label = known.get(name.toLowerCase());
      if (label === undefined) {
        throw new AppError('invalid_input', `${path.basename(file)} line ${r.line}: label "${name}" is not one the model knows (${predictor.labels.join(', ')}).`);
      }
      const text = mapping.textColumns.map((c) => (r.fields[c] ?? '').trim()).filter(Boolean).join(mapping.textSeparator);
      return { text, label };
    });
    const result = await predictor.evaluate(rows, { maxLength: args.number('max-length'), batchSize: args.number('batch-size'), signal: io.signal });
    if (json) {
      io.out(JSON.stringify({ rows: rows.length, accuracy: result.accuracy, macro_f1: result.macroF1, eval_loss: result.evalLoss, per_class: result.perClass, confusion: result.confusion, labels: predictor.labels }));
    } else {
      io.out(`${plural(rows.length, 'row')}: accuracy ${formatPercent(result.accuracy)}, macro-F1 ${formatPercent(result.macroF1)}, loss ${result.evalLoss.toFixed(4)}`);
      for (const c of result.perClass) {
        io.out(`  ${c.label.padEnd(20)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  F1 ${c.f1.toFixed(3)}  support ${c.support}`);
      }
    }
    return 0;
  } finally {
    await predictor.dispose();
  }
}

export async function predictCommand(argv: string[], io: CliIo): Promise<number> {
  // An exported keyword baseline instead of a model (cli/baseline.ts).
  if (argv.some((a) => a === '--baseline' || a.startsWith('--baseline='))) return (await import('./baseline')).predictWithBaseline(argv, io);
  const args = parseArgs(PREDICT_SPEC, argv, io);
  if (!args) return 0;
  const texts = args.all('text');
  const input = args.string('input');
  const output = args.string('output');
  if (!texts.length && !input) throw new UsageError('give --text T (one or more) or --input FILE --output FILE');
  if (texts.length && input) throw new UsageError('give --text or --input, not both');
  if (input && !output) throw new UsageError('--input needs --output FILE');
  if (output && !input) throw new UsageError('--output needs --input FILE');
  if (args.has('raw-csv') && !output) throw new UsageError('--raw-csv applies to --output FILE');
  const json = args.has('json');
  const maxLength = args.number('max-length');
  const batchSize = args.number('batch-size');
  if (input && output) {
    // The same streaming batch prediction as the app's "Predict a file" (export/predict-file.ts).
    const textColumns = args.list('text-column');
    let shown = false;
    const result = await predictFile(await resolveModelArg(args.string('model')!, io), input, output, {
      textColumns: textColumns.length ? textColumns : undefined,
      maxLength,
      batchSize,
      // The user named the output file: replace it (never the input, which predictFile refuses).
      overwrite: true,
      csvInjectionSafe: !args.has('raw-csv'),
      signal: io.signal,
      onProgress: (p) => {
        if (!io.isTTY || json || !io.write) return;
        io.write(taskProgressLine(p));
        shown = true;
      },
    });
    if (shown && io.write) io.write('\n');
    if (json) io.out(JSON.stringify({ rows: result.rows, output: result.output }));
    else io.out(`Wrote ${plural(result.rows, 'prediction')} to ${result.output}`);
    return 0;
  }
  const predictor = await loadPredictor(args.string('model')!, io);
  try {
    const preds = await predictor.predict(texts, { maxLength, batchSize, signal: io.signal });
    preds.forEach((p, i) => {
      if (json) io.out(JSON.stringify({ text: texts[i], label: p.label, score: p.score, scores: p.scores }));
      else io.out(`${p.label} (${formatProbability(p.score)})  ${texts[i]}`);
    });
    return 0;
  } finally {
    await predictor.dispose();
  }
}
