/** How the CLI shows progress: a bar on a TTY, plain lines otherwise, JSON lines with --json. */
import type { AppEvents, TaskProgressEvent } from '../../shared/api';
import type { DataProgress } from '../../shared/dataset';
import { formatBytes, formatCount, formatEta, formatPercent, formatRate, formatSpeed } from '../../shared/format';
import type { CliIo } from './io';

/** One progress line of a long call (reading, preparing, predicting), for a TTY ("\r..."). */
export function taskProgressLine(p: TaskProgressEvent | DataProgress): string {
  const what = p.phase.charAt(0).toUpperCase() + p.phase.slice(1);
  const amount =
    p.unit === 'bytes'
      ? `${formatBytes(p.done)}${p.total ? ` of ${formatBytes(p.total)}` : ''}`
      : `${formatCount(p.done)}${p.total !== null ? `/${formatCount(p.total)}` : ''} ${p.unit}`;
  const pct = p.total ? ` ${Math.floor((p.done / p.total) * 100)} %` : '';
  return `\r${what} ${amount}${pct} ETA ${formatEta(p.etaSeconds)}\x1b[K`;
}

export interface RunPrinter {
  step(e: AppEvents['run-step']): void;
  evaluation(e: AppEvents['run-eval']): void;
  phase(e: AppEvents['run-phase']): void;
  log(e: AppEvents['run-log']): void;
  /** Ends the bar line (before other output). */
  flush(): void;
}

export function runPrinter(io: CliIo, mode: 'tty' | 'plain' | 'json'): RunPrinter {
  let barShown = false;
  let lastPlain = 0;
  const flush = (): void => {
    if (barShown && io.write) io.write('\n');
    barShown = false;
  };
  const line = (s: string): void => {
    flush();
    io.out(s);
  };
  return {
    flush,
    step(e) {
      if (mode === 'json') {
        io.out(JSON.stringify({ event: 'step', stage: e.stage ?? 'finetune', step: e.step, total_steps: e.totalSteps, epoch: round(e.epoch, 4), loss: round(e.loss, 6), learning_rate: e.learningRate, grad_norm: round(e.gradNorm, 6), samples_per_second: round(e.samplesPerSecond, 2), tokens_per_second: round(e.tokensPerSecond, 1), eta_seconds: e.etaSeconds === null ? null : Math.round(e.etaSeconds), elapsed_seconds: round(e.elapsedSeconds, 1) }));
        return;
      }
      const text = `${e.stage === 'mlm' ? 'masked-LM ' : ''}epoch ${e.epoch.toFixed(2)} step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${formatRate(e.learningRate)} ${formatSpeed(e.samplesPerSecond)} ETA ${formatEta(e.etaSeconds)}`;
      if (mode === 'tty' && io.write) {
        const width = 24;
        const filled = Math.round((e.step / e.totalSteps) * width);
        io.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
        barShown = true;
        return;
      }
      // Plain output: a line every 10 seconds, and the first and last steps.
      const now = Date.now();
      if (e.step === 1 || e.step === e.totalSteps || now - lastPlain >= 10_000) {
        lastPlain = now;
        line(text);
      }
    },
    evaluation(e) {
      const m = e.metrics;
      if (mode === 'json') {
        io.out(JSON.stringify({ event: 'eval', step: m.step, epoch: round(m.epoch, 4), eval_loss: round(m.evalLoss, 6), accuracy: round(m.accuracy, 6), macro_f1: round(m.macroF1, 6), is_best: e.isBest, per_class: m.perClass }));
        return;
      }
      line(`eval epoch ${m.epoch.toFixed(2)}: accuracy ${formatPercent(m.accuracy)}, macro-F1 ${formatPercent(m.macroF1)}, loss ${m.evalLoss.toFixed(4)}${e.isBest ? ' (best so far)' : ''}`);
    },
    phase(e) {
      if (mode === 'json' || e.phase === 'training') return;
      if (mode === 'tty' && io.write && e.total) {
        io.write(`\r${e.message}: ${e.done}/${e.total}\x1b[K`);
        barShown = true;
      }
    },
    log(e) {
      if (mode === 'json') {
        io.out(JSON.stringify({ event: 'log', message: e.message }));
        return;
      }
      line(e.message);
    },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
