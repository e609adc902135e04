/** `finetune runs list|show RUN_ID`: past runs, through the AppApi (listRuns, getRun). */
import { formatPercent, shortHash } from '../../shared/format';
import type { App } from '../app';
import { JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import { apiClient } from './client';
import type { CliIo } from './io';
import { learningSummary } from './train';

export const RUNS_LIST_SPEC: CommandSpec = { path: 'runs list', summary: 'Every run, newest first.', flags: { json: JSON_FLAG } };
export const RUNS_SHOW_SPEC: CommandSpec = {
  path: 'runs show',
  args: 'RUN_ID',
  positionals: { min: 1, max: 1 },
  summary: 'One run: its status, model, dataset, evaluations and files.',
  flags: { json: JSON_FLAG },
};

export async function runsCommand(getApp: () => App, argv: string[], io: CliIo, setWhere: (w: string) => void): Promise<number> {
  const [first, ...rest] = argv;
  const sub = first === undefined || first.startsWith('-') ? 'list' : first;
  const tail = first === undefined || first.startsWith('-') ? argv : rest;
  if (sub !== 'list' && sub !== 'show') throw new UsageError(`unknown subcommand "${sub}": use list or show RUN_ID`);
  setWhere(`runs ${sub}`);
  const args = parseArgs(sub === 'list' ? RUNS_LIST_SPEC : RUNS_SHOW_SPEC, tail, io);
  if (!args) return 0;
  const json = args.has('json');
  const app = getApp();
  if (sub === 'list') {
    const runs = await apiClient(app.api).listRuns();
    if (json) {
      io.out(JSON.stringify(runs));
      return 0;
    }
    if (!runs.length) {
      io.out('No runs yet. Start one with: finetune train --model DIR|HUB_ID --train FILE');
      return 0;
    }
    for (const r of runs) io.out(`${r.id}  ${r.status.padEnd(11)} ${(r.bestAccuracy === null ? '-' : formatPercent(r.bestAccuracy)).padStart(7)}  ${r.name}`);
    return 0;
  }
  const run = await apiClient(app.api).getRun(args.positional[0]!);
  if (json) {
    io.out(JSON.stringify(run));
    return 0;
  }
  io.out(`${run.name} (${run.id})`);
  io.out(`status: ${run.status}${run.error ? ` — ${run.error}` : ''}`);
  io.out(`model: ${run.modelId ?? '-'}; dataset: ${run.datasetName ?? '-'} (${shortHash(run.datasetFingerprint)}); backend: ${run.backend ?? '-'}`);
  io.out(`steps recorded: ${run.steps.length}`);
  for (const e of run.evals) io.out(`eval epoch ${e.epoch.toFixed(2)} step ${e.step}: accuracy ${formatPercent(e.accuracy)}, macro-F1 ${formatPercent(e.macroF1)}, loss ${e.evalLoss.toFixed(4)}`);
  const learning = run.status === 'completed' ? learningSummary(run) : null;
  if (learning && !learning.verdict.learned) {
    io.out(learning.verdict.advice);
    if (learning.tryFlags) io.out(`the model has not learned; try ${learning.tryFlags}`);
  }
  for (const a of run.artifacts) io.out(`${a.kind}: ${a.path}`);
  return 0;
}
