/**
 * The README.md model card of an exported Hugging Face folder: YAML front matter the Hub reads
 * (library, pipeline, base model, tags), then the data (fingerprint, sizes, class counts), the
 * hyperparameters, the metrics per class of the best and the final evaluation, the training
 * curve, the backend and the app version. No local path of the user's machine is written.
 */
import path from 'node:path';
import { bestEvaluation } from '../../shared/best-metric';
import type { PreparedDataset } from '../../shared/dataset';
import type { RunConfig } from '../../shared/run-config';
import type { ClassMetrics, EvalMetrics, RunDetail, StepMetric } from '../../shared/types';
import { EXPORT_MARKER } from './destination';
import type { HubSource } from './run-source';

export interface ModelCardInput {
  runId: string;
  config: RunConfig;
  detail: RunDetail | null;
  dataset: PreparedDataset | null;
  hub: HubSource | null;
  /** model_type of the exported config.json. */
  modelType: string;
  /** Metrics recomputed from eval_predictions.jsonl, used when the database has none. */
  predictionsReport: { accuracy: number; macroF1: number; perClass: ClassMetrics[]; confusion: number[][]; rows: number } | null;
  appVersion: string;
  exportedAt: Date;
}

/** A table cell: pipes escaped, line breaks flattened. */
export function mdCell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.map((c) => mdCell(String(c))).join(' | ')} |`;
}

function table(head: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly ('l' | 'r')[]): string[] {
  const sep = head.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [row(head), `| ${sep.join(' | ')} |`, ...rows.map(row)];
}

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const f4 = (x: number): string => x.toFixed(4);
const int = (n: number): string => n.toLocaleString('en-US');

/** Re-exported for the recipe's tests. */
export { bestEvaluation };

/** Mean training loss of the steps after `from` up to and including `to`. */
function meanLoss(steps: readonly StepMetric[], from: number, to: number): number | null {
  let sum = 0;
  let n = 0;
  for (const s of steps) {
    if (s.step > from && s.step <= to && Number.isFinite(s.loss)) {
      sum += s.loss;
      n++;
    }
  }
  return n ? sum / n : null;
}

/** At most `max` rows: evenly spaced, always with the first, the last and the best. */
function curveRows(evals: readonly EvalMetrics[], best: EvalMetrics | null, max = 40): EvalMetrics[] {
  if (evals.length <= max) return evals.slice();
  const keep = new Set<number>([0, evals.length - 1]);
  for (let i = 0; i < max - 2; i++) keep.add(Math.round((i * (evals.length - 1)) / (max - 3)));
  if (best) keep.add(evals.indexOf(best));
  return [...keep].sort((a, b) => a - b).map((i) => evals[i]!);
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

function describeSource(config: RunConfig, hub: HubSource | null): string {
  if (hub) return `[\`${hub.repo}\`](https://huggingface.co/${hub.repo})${hub.commit ? ` (revision \`${hub.commit.slice(0, 12)}\`)` : ''}`;
  return `a local model folder (\`${mdCell(path.basename(config.model.path))}\`)`;
}

function perClassTable(perClass: readonly ClassMetrics[]): string[] {
  return table(
    ['label', 'precision', 'recall', 'F1', 'support'],
    perClass.map((c) => [c.label, f4(c.precision), f4(c.recall), f4(c.f1), c.support]),
    ['l', 'r', 'r', 'r', 'r'],
  );
}

function confusionTable(labels: readonly string[], confusion: readonly (readonly number[])[]): string[] {
  return [
    'Rows are the true labels, columns the predicted ones.',
    '',
    ...table(['true \\ predicted', ...labels], labels.map((l, i) => [l, ...(confusion[i] ?? [])]), ['l', ...labels.map(() => 'r' as const)]),
  ];
}

export function modelCard(input: ModelCardInput): string {
  const { config, detail, dataset, hub } = input;
  const o = config.options;
  const labels = config.labels;
  const evals = detail?.evals ?? [];
  const steps = detail?.steps ?? [];
  const best = bestEvaluation(evals, o.bestMetric);
  const final = evals.at(-1) ?? null;
  const lines: string[] = [];

  // Front matter (YAML; strings are JSON-quoted, which YAML reads as is).
  lines.push('---', 'library_name: transformers', 'pipeline_tag: text-classification');
  if (hub) lines.push(`base_model: ${yamlString(hub.repo)}`);
  lines.push('tags:', '- text-classification', `- ${yamlString(input.modelType)}`, '- finetune-studio', 'metrics:', '- accuracy', '- f1', '---', '');
  lines.push(`${EXPORT_MARKER} ${JSON.stringify({ format: 'hf', run: input.runId, app: input.appVersion })} -->`, '');

  lines.push(`# ${config.name.replace(/[\r\n]+/g, ' ')}`, '');
  lines.push(
    `A ${input.modelType} text classifier with ${labels.length} labels, fine-tuned from ${describeSource(config, hub)} on ` +
      `${dataset?.name || config.dataset.name || 'a prepared dataset'} with Finetune Studio ${input.appVersion}.`,
  );
  const headline = best ?? input.predictionsReport;
  if (headline) {
    lines.push('');
    lines.push(
      `Evaluation of this model${best ? ` (epoch ${best.epoch.toFixed(2)}, step ${best.step})` : ''}: accuracy **${pct(headline.accuracy)}**, macro-F1 **${f4(headline.macroF1)}** on ${int(config.dataset.evalCount)} held-out rows.`,
    );
  }
  const baseline = dataset?.baseline;
  if (baseline) {
    lines.push('');
    lines.push(
      `Keyword baseline (TF-IDF word 1-2 grams + logistic regression, C = 10, trained on the same training rows): accuracy ${pct(baseline.accuracy)}, macro-F1 ${f4(baseline.macroF1)} on the same ${int(baseline.evalRows)} rows` +
        (headline ? `; this model is ${Math.abs((headline.accuracy - baseline.accuracy) * 100).toFixed(1)} points ${headline.accuracy >= baseline.accuracy ? 'above' : 'below'} it.` : '.'),
    );
  }
  if (detail && detail.status !== 'completed') {
    lines.push('', `> Note: this run ended as **${detail.status}**${detail.error ? ` (${detail.error.replace(/[\r\n]+/g, ' ')})` : ''}; the model is its best evaluation before it stopped.`);
  }
  lines.push('');

  lines.push('## Usage', '', '```python', 'from transformers import pipeline', '', 'classifier = pipeline("text-classification", model="path/to/this/folder")');
  lines.push(`print(classifier("Your text here", truncation=True, max_length=${o.maxLength}))`, '```', '');
  lines.push(`The model was trained on texts cut to ${o.maxLength} tokens: pass \`truncation=True, max_length=${o.maxLength}\` to get the same behaviour.`, '');

  lines.push('## Labels', '', ...table(['id', 'label'], labels.map((l, i) => [i, l]), ['r', 'l']), '');

  lines.push('## Training data', '');
  lines.push(`- Dataset: ${mdCell(dataset?.name || config.dataset.name || '(unnamed)')}`);
  lines.push(`- Fingerprint (sha256 of the prepared rows and labels): \`${config.dataset.fingerprint}\``);
  if (dataset) {
    lines.push(`- Source file: \`${mdCell(path.basename(dataset.source.file))}\` (${int(dataset.source.sizeBytes)} bytes, sha256 \`${dataset.source.sha256}\`)`);
    if (dataset.split.kind === 'ratio') lines.push(`- Split: ${(dataset.split.evalRatio * 100).toFixed(1)} % of each class held out for evaluation (seed ${dataset.split.seed})`);
    else lines.push(`- Split: a separate evaluation file${dataset.evalSource ? ` (\`${mdCell(path.basename(dataset.evalSource.file))}\`, sha256 \`${dataset.evalSource.sha256}\`)` : ''}`);
    const cleaning = Object.entries(dataset.cleaning ?? {}).filter(([, v]) => v).map(([k]) => k);
    if (cleaning.length) lines.push(`- Cleaning: ${cleaning.join(', ')}`);
  }
  lines.push(`- Rows: ${int(config.dataset.trainCount)} for training, ${int(config.dataset.evalCount)} for evaluation`, '');
  if (dataset?.classCounts?.length) {
    const total = dataset.classCounts.reduce((a, c) => a + c.train, 0) || 1;
    lines.push(
      ...table(
        ['label', 'train', 'eval', 'share of train'],
        dataset.classCounts.map((c) => [c.label, c.train, c.eval, `${((c.train / total) * 100).toFixed(1)} %`]),
        ['l', 'r', 'r', 'r'],
      ),
      '',
    );
  }

  lines.push('## Training procedure', '');
  const effective = o.batchSize * o.gradientAccumulationSteps;
  const hp: [string, string][] = [
    ['learning rate', String(o.learningRate)],
    ['epochs', String(o.epochs)],
    ['batch size', String(o.batchSize)],
    ['gradient accumulation steps', `${o.gradientAccumulationSteps} (effective batch ${effective})`],
    ['max length (tokens)', String(o.maxLength)],
    ['warm-up', o.warmupSteps > 0 ? `${o.warmupSteps} steps` : `ratio ${o.warmupRatio}`],
    ['learning-rate schedule', 'linear decay after the warm-up'],
    ['optimizer', 'AdamW (betas 0.9, 0.999, epsilon 1e-8)'],
    ['weight decay', `${o.weightDecay} (not on biases and LayerNorm weights)`],
    ['max gradient norm', String(o.maxGradNorm)],
    ['seed', String(o.seed)],
    ['evaluation', o.evalEverySteps === null ? 'at the end of each epoch' : `every ${o.evalEverySteps} optimizer steps`],
    ['model kept', `best ${o.bestMetric}`],
    ['early stopping', o.earlyStoppingPatience === null ? 'off' : `after ${o.earlyStoppingPatience} evaluation(s) without improvement`],
    ['class weights', o.classWeights ? labels.map((l, i) => `${l}: ${o.classWeights![i]!.toFixed(4)}`).join(', ') : 'none'],
    ['encoder', o.freezeEncoder ? 'frozen (only the classification head trained)' : 'trained'],
    ['group by length', o.groupByLength ? 'yes' : 'no'],
    ['evaluation batch size', String(o.evalBatchSize)],
  ];
  lines.push(...table(['hyperparameter', 'value'], hp), '');
  const facts: string[] = [];
  if (detail?.backend) facts.push(`- Backend: TensorFlow.js \`${mdCell(detail.backend)}\``);
  if (steps.length) facts.push(`- Optimizer steps: ${int(steps.at(-1)!.step)} (epoch ${steps.at(-1)!.epoch.toFixed(2)})`);
  if (detail?.startedAt && detail.finishedAt && detail.finishedAt > detail.startedAt) {
    facts.push(`- Wall time: ${((detail.finishedAt - detail.startedAt) / 60000).toFixed(1)} min`);
  }
  if (facts.length) lines.push(...facts, '');

  lines.push('## Evaluation', '');
  if (best) {
    lines.push(`### Best evaluation: the model in this folder (epoch ${best.epoch.toFixed(2)}, step ${best.step})`, '');
    lines.push(`Accuracy ${pct(best.accuracy)}, macro-F1 ${f4(best.macroF1)}, evaluation loss ${f4(best.evalLoss)}.`, '');
    lines.push(...perClassTable(best.perClass), '');
    if (final && final !== best) {
      lines.push(`### Final evaluation (epoch ${final.epoch.toFixed(2)}, step ${final.step})`, '');
      lines.push(`Accuracy ${pct(final.accuracy)}, macro-F1 ${f4(final.macroF1)}, evaluation loss ${f4(final.evalLoss)}.`, '');
      lines.push(...perClassTable(final.perClass), '');
    } else {
      lines.push('The final evaluation is the best one.', '');
    }
    if (labels.length <= 20 && best.confusion.length === labels.length) lines.push('### Confusion matrix (best evaluation)', '', ...confusionTable(labels, best.confusion), '');
  } else if (input.predictionsReport) {
    const r = input.predictionsReport;
    lines.push(`Recomputed from the evaluation predictions of the saved model (${int(r.rows)} rows): accuracy ${pct(r.accuracy)}, macro-F1 ${f4(r.macroF1)}.`, '');
    lines.push(...perClassTable(r.perClass), '');
    if (labels.length <= 20 && r.confusion.length === labels.length) lines.push('### Confusion matrix', '', ...confusionTable(labels, r.confusion), '');
  } else {
    lines.push('No evaluation was recorded for this run.', '');
  }

  if (evals.length) {
    lines.push('## Training curve', '');
    const shown = curveRows(evals, best);
    const rows = shown.map((e) => {
      const prev = evals[evals.indexOf(e) - 1];
      const loss = meanLoss(steps, prev ? prev.step : 0, e.step);
      return [e.epoch.toFixed(2), e.step, loss === null ? '' : f4(loss), f4(e.evalLoss), pct(e.accuracy), f4(e.macroF1), e === best ? 'best' : ''];
    });
    lines.push(...table(['epoch', 'step', 'train loss', 'eval loss', 'accuracy', 'macro-F1', ''], rows, ['r', 'r', 'r', 'r', 'r', 'r', 'l']), '');
    if (shown.length < evals.length) lines.push(`${shown.length} of ${evals.length} evaluations shown.`, '');
    const finite = steps.filter((s) => Number.isFinite(s.loss));
    if (finite.length >= 2) {
      const head = finite.slice(0, Math.max(1, Math.min(10, Math.floor(finite.length / 10))));
      const tail = finite.slice(-head.length);
      const mean = (xs: readonly StepMetric[]): number => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
      lines.push(`Training loss: ${f4(mean(head))} over the first ${head.length} step(s), ${f4(mean(tail))} over the last ${tail.length}.`, '');
    }
  }

  lines.push('## Framework', '');
  lines.push(`- Trained with Finetune Studio ${input.appVersion} (TensorFlow.js${detail?.backend ? `, backend \`${mdCell(detail.backend)}\`` : ''}); the same recipe as transformers' \`Trainer\`.`);
  lines.push('- Weights: float32 `model.safetensors` with the Hugging Face parameter names; loads with `AutoModelForSequenceClassification` and `AutoTokenizer`.');
  lines.push(`- Run \`${input.runId}\`, exported ${input.exportedAt.toISOString()}.`, '');
  return lines.join('\n');
}
