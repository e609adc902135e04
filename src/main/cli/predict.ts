/**
 * `finetune eval` (metrics of a trained model on a labelled file) and `finetune predict`
 * (labels and probabilities for texts or a file). They run the engine in this process: the CLI
 * has no window to keep responsive.
 */
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { App } from '../app';
import { inspectDataset } from '../data';
import { initBackend } from '../engine/backends/start';
import { Predictor } from '../engine/inference';
import { predictFile } from '../export/predict-file';
import { readTable } from '../export/predictions';
import { flag, numberFlag, parseFlags, UsageError } from './args';
import type { CliIo } from './data';
import { mappingFromFlags, resolveModelArg } from './train';

async function loadPredictor(modelArg: string, io: CliIo): Promise<Predictor> {
  await initBackend(null);
  return Predictor.load(await resolveModelArg(modelArg, io));
}

export async function evalCommand(_app: App, argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags(argv, { values: ['model', 'data', 'text-column', 'label-column', 'max-length', 'batch-size'], switches: ['json'] });
  const modelArg = flag(f, 'model');
  const file = flag(f, 'data');
  if (!modelArg || !file) throw new UsageError('usage: finetune eval --model DIR --data FILE [--text-column COL] [--label-column COL] [--json]');
  const json = f.switches.has('json');
  const inspection = await inspectDataset(file, { signal: io.signal });
  const mapping = mappingFromFlags(f, inspection);
  const predictor = await loadPredictor(modelArg, io);
  try {
    const known = new Map(predictor.labels.map((l, i) => [l.trim().toLowerCase(), i]));
    const table = await readTable(file, mapping.parse ?? {}, io.signal);
    const rows = table.rows.map((r) => {
      const raw = (r.fields[mapping.labelColumn] ?? '').trim();
      const name = (mapping.labelNames?.[raw] ?? raw).trim();
      const label = known.get(name.toLowerCase());
      if (label === undefined) {
        throw new AppError('invalid_input', `${path.basename(file)} line ${r.line}: label "${name}" is not one the model knows (${predictor.labels.join(', ')}).`);
      }
      const text = mapping.textColumns.map((c) => (r.fields[c] ?? '').trim()).filter(Boolean).join(mapping.textSeparator);
      return { text, label };
    });
    const result = await predictor.evaluate(rows, {
      maxLength: numberFlag(f, 'max-length', { integer: true, min: 8 }),
      batchSize: numberFlag(f, 'batch-size', { integer: true, min: 1 }),
      signal: io.signal,
    });
    if (json) {
      io.out(JSON.stringify({ rows: rows.length, accuracy: result.accuracy, macro_f1: result.macroF1, eval_loss: result.evalLoss, per_class: result.perClass, confusion: result.confusion, labels: predictor.labels }));
    } else {
      io.out(`${rows.length} rows: accuracy ${(result.accuracy * 100).toFixed(2)} %, macro-F1 ${result.macroF1.toFixed(4)}, loss ${result.evalLoss.toFixed(4)}`);
      for (const c of result.perClass) {
        io.out(`  ${c.label.padEnd(20)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  F1 ${c.f1.toFixed(3)}  support ${c.support}`);
      }
    }
    return 0;
  } finally {
    predictor.dispose();
  }
}

export async function predictCommand(_app: App, argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags(argv, { values: ['model', 'text', 'input', 'output', 'text-column', 'max-length', 'batch-size'], switches: ['json'] });
  const modelArg = flag(f, 'model');
  const texts = f.values.get('text') ?? [];
  const input = flag(f, 'input');
  const output = flag(f, 'output');
  if (!modelArg || (!texts.length && !input) || (texts.length && input) || (input && !output)) {
    throw new UsageError('usage: finetune predict --model DIR (--text T [--text T...] | --input FILE --output FILE) [--json]');
  }
  const json = f.switches.has('json');
  const maxLength = numberFlag(f, 'max-length', { integer: true, min: 8 });
  const batchSize = numberFlag(f, 'batch-size', { integer: true, min: 1 });
  if (input && output) {
    // The same streaming batch prediction as the app's "Predict a file" (export/predict-file.ts).
    const textColumns = (f.values.get('text-column') ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const result = await predictFile(await resolveModelArg(modelArg, io), input, output, {
      textColumns: textColumns.length ? textColumns : undefined,
      maxLength,
      batchSize,
      // The user named the output file: replace it (never the input, which predictFile refuses).
      overwrite: true,
      signal: io.signal,
      onProgress: (p) => {
        if (io.isTTY && !json) process.stderr.write(`\rPredicting: ${p.phase} ${p.done}${p.total ? `/${p.total}` : ''}\x1b[K`);
      },
    });
    if (io.isTTY && !json) process.stderr.write('\n');
    if (json) io.out(JSON.stringify({ rows: result.rows, output: result.output }));
    else io.out(`Wrote ${result.rows} predictions to ${result.output}`);
    return 0;
  }
  const predictor = await loadPredictor(modelArg, io);
  try {
    const preds = await predictor.predict(texts, { maxLength, batchSize, signal: io.signal });
    preds.forEach((p, i) => {
      if (json) io.out(JSON.stringify({ text: texts[i], label: p.label, score: p.score, scores: p.scores }));
      else io.out(`${p.label} (${(p.score * 100).toFixed(1)} %)  ${texts[i]}`);
    });
    return 0;
  } finally {
    predictor.dispose();
  }
}
