/**
 * `finetune pretrain`: masked-LM adaptation of a model to a file of texts (continued pretraining,
 * as transformers' run_mlm.py --line_by_line), written as a Hugging Face *ForMaskedLM folder that
 * `finetune train --model DIR` (and transformers) loads. Runs in this process on the best backend.
 */
import path from 'node:path';
import { formatDuration, formatEta, formatRate, plural } from '../../shared/format';
import { MLM_DEFAULT_LEARNING_RATE, RECOMMENDED_OPTIONS } from '../../shared/run-config';
import { BACKEND_NAMES, type BackendName } from '../../shared/types';
import { startBackend } from '../engine/backends/start';
import { isNewMlmHead, loadMaskedLmFolder } from '../engine/mlm/load';
import { PretrainCancelled, pretrainMaskedLm, pretrainStepsPerEpoch } from '../engine/mlm/pretrain';
import { saveMaskedLmFolder } from '../engine/mlm/save';
import { readUnlabelledTexts } from '../engine/mlm/texts';
import { JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import type { CliIo } from './io';
import { resolveModelArg } from './model-arg';

export const PRETRAIN_SPEC: CommandSpec = {
  path: 'pretrain',
  summary: 'Adapt a model to your texts (masked-LM continued pretraining) and save it as a Hugging Face *ForMaskedLM folder.',
  flags: {
    model: { kind: 'path', value: 'DIR|HUB_ID', required: true, help: 'a model folder (any checkpoint of BERT, RoBERTa, DistilBERT, ALBERT) or a Hub id' },
    texts: { kind: 'path', value: 'FILE', required: true, help: 'texts: one per line, or a CSV / TSV (its text column) or JSONL ("text")' },
    'extra-texts': { kind: 'path', value: 'FILE', repeat: true, help: 'more unlabelled texts, in the same formats' },
    epochs: { kind: 'number', integer: true, min: 1, max: 100, value: 'N', help: 'passes over the texts (default 3)' },
    lr: { kind: 'number', min: 1e-12, max: 1, value: 'X', help: `learning rate (default ${formatRate(MLM_DEFAULT_LEARNING_RATE)}; from scratch try 5e-4)` },
    'batch-size': { kind: 'number', integer: true, min: 1, max: 4096, value: 'N', help: `texts per step (default ${RECOMMENDED_OPTIONS.batchSize})` },
    'max-length': { kind: 'number', integer: true, min: 8, max: 8192, value: 'N', help: `tokens per text; longer texts are cut (default ${RECOMMENDED_OPTIONS.maxLength})` },
    'weight-decay': { kind: 'number', min: 0, max: 1, value: 'X', help: `AdamW weight decay (default ${RECOMMENDED_OPTIONS.weightDecay})` },
    seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1, value: 'N', help: `seed of the masks, shuffling and new head (default ${RECOMMENDED_OPTIONS.seed})` },
    backend: { kind: 'string', value: 'NAME', choices: BACKEND_NAMES, help: 'run on this backend (default: the best available)' },
    out: { kind: 'path', value: 'DIR', required: true, help: 'the folder to write (replaced when it exists)' },
    json: JSON_FLAG,
  },
  notes: [
    '15 % of the tokens are chosen (80 % [MASK], 10 % random, 10 % unchanged), as transformers\' DataCollatorForLanguageModeling.',
    'Then fine-tune from the result: finetune train --model DIR --train FILE ...',
  ],
};

export async function pretrainCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(PRETRAIN_SPEC, argv, io);
  if (!args) return 0;
  const json = args.has('json');
  const out = path.resolve(args.string('out')!);
  const files = [args.string('texts')!, ...args.all('extra-texts')].map((f) => path.resolve(f));
  const texts: string[] = [];
  for (const f of files) {
    const got = readUnlabelledTexts(f);
    if (!json) io.out(`${path.basename(f)}: ${plural(got.length, 'text')}`);
    texts.push(...got);
  }
  if (texts.length === 0) throw new UsageError('--texts: the file holds no text');
  const options = {
    epochs: args.number('epochs') ?? 3,
    batchSize: args.number('batch-size') ?? RECOMMENDED_OPTIONS.batchSize,
    learningRate: args.number('lr') ?? MLM_DEFAULT_LEARNING_RATE,
    weightDecay: args.number('weight-decay') ?? RECOMMENDED_OPTIONS.weightDecay,
    maxGradNorm: RECOMMENDED_OPTIONS.maxGradNorm,
    maxLength: args.number('max-length') ?? RECOMMENDED_OPTIONS.maxLength,
    seed: args.number('seed') ?? RECOMMENDED_OPTIONS.seed,
  };
  const dir = await resolveModelArg(args.string('model')!, io);
  const backend = await startBackend((args.string('backend') as BackendName | undefined) ?? null);
  const { model, tokenizer, report } = await loadMaskedLmFolder(dir, { seed: options.seed });
  try {
    const newHead = isNewMlmHead(model, report);
    const perEpoch = pretrainStepsPerEpoch(texts, options.batchSize);
    const total = perEpoch * options.epochs;
    if (json) {
      io.out(JSON.stringify({ event: 'start', model_dir: dir, out, texts: texts.length, epochs: options.epochs, total_steps: total, learning_rate: options.learningRate, backend: backend.info.name, head_initialised: report.initialised.length > 0, embeddings_frozen: newHead }));
    } else {
      io.out(`Masked-LM adaptation on ${backend.info.label}: ${plural(texts.length, 'text')}, ${plural(options.epochs, 'epoch')}, ${plural(total, 'step')}, lr ${formatRate(options.learningRate)}.`);
      if (report.initialised.length) io.out(`New masked-LM head initialised (${plural(report.initialised.length, 'tensor')}).`);
      if (newHead) io.out('The head is new: its vocabulary bias starts at the word frequencies of the texts, and the word embeddings stay frozen.');
    }
    const t0 = performance.now();
    let lastLine = 0;
    const result = await pretrainMaskedLm(
      model,
      tokenizer,
      texts,
      { ...options, newHead },
      (p) => {
        const elapsed = (performance.now() - t0) / 1000;
        const eta = (elapsed / p.step) * (p.totalSteps - p.step);
        if (json) {
          io.out(JSON.stringify({ event: 'step', stage: 'mlm', step: p.step, total_steps: p.totalSteps, epoch: Math.round((p.step / perEpoch) * 1e4) / 1e4, loss: p.loss, learning_rate: p.learningRate, grad_norm: p.gradNorm, elapsed_seconds: Math.round(elapsed * 10) / 10 }));
          return;
        }
        const now = Date.now();
        if (p.step === 1 || p.step === p.totalSteps || now - lastLine >= 10_000) {
          lastLine = now;
          io.out(`masked-LM epoch ${(p.step / perEpoch).toFixed(2)} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${formatRate(p.learningRate)} ETA ${formatEta(eta)}`);
        }
      },
      io.signal,
      backend.kernels,
    );
    saveMaskedLmFolder(out, model, { tokenizer: tokenizer.files, sourceDir: dir });
    const seconds = (performance.now() - t0) / 1000;
    if (json) io.out(JSON.stringify({ event: 'end', status: 'completed', out, steps: result.steps, epoch_losses: result.epochLosses, seconds: Math.round(seconds * 10) / 10 }));
    else {
      io.out(`Loss by epoch: ${result.epochLosses.map((l) => l.toFixed(4)).join(', ')} (${formatDuration(seconds)}).`);
      io.out(`Saved ${out}. Fine-tune from it: finetune train --model ${out} --train FILE`);
    }
    return 0;
  } catch (err) {
    if (err instanceof PretrainCancelled) {
      if (json) io.out(JSON.stringify({ event: 'end', status: 'cancelled', out: null }));
      else io.err('finetune pretrain: cancelled; nothing was written');
      return 1;
    }
    throw err;
  } finally {
    model.dispose();
  }
}
