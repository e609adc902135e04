/** `finetune runs list|show RUN_ID`: past runs from the database. */
import type { App } from '../app';
import { parseFlags, UsageError } from './args';
import type { CliIo } from './data';

export async function runsCommand(app: App, argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags(argv, { values: [], switches: ['json'] });
  const [sub, id] = f.positional;
  const json = f.switches.has('json');
  if (sub === 'list' || sub === undefined) {
    const runs = await app.api.listRuns();
    if (json) {
      io.out(JSON.stringify(runs));
      return 0;
    }
    if (!runs.length) {
      io.out('No runs yet. Start one with: finetune train --model DIR --train FILE');
      return 0;
    }
    for (const r of runs) {
      const acc = r.bestAccuracy === null ? '     -' : `${(r.bestAccuracy * 100).toFixed(2).padStart(6)}%`;
      io.out(`${r.id}  ${r.status.padEnd(11)} ${acc}  ${r.name}`);
    }
    return 0;
  }
  if (sub === 'show') {
    if (!id) throw new UsageError('usage: finetune runs show RUN_ID [--json]');
    const run = await app.api.getRun(id);
    if (json) {
      io.out(JSON.stringify(run));
      return 0;
    }
    io.out(`${run.name} (${run.id})`);
    io.out(`status: ${run.status}${run.error ? ` — ${run.error}` : ''}`);
    io.out(`model: ${run.modelId ?? '-'}; dataset: ${run.datasetName ?? '-'} (${run.datasetFingerprint?.slice(0, 12) ?? '-'}); backend: ${run.backend ?? '-'}`);
    io.out(`steps recorded: ${run.steps.length}`);
    for (const e of run.evals) io.out(`eval epoch ${e.epoch.toFixed(2)} step ${e.step}: accuracy ${(e.accuracy * 100).toFixed(2)} %, macro-F1 ${e.macroF1.toFixed(4)}, loss ${e.evalLoss.toFixed(4)}`);
    for (const a of run.artifacts) io.out(`${a.kind}: ${a.path}`);
    return 0;
  }
  throw new UsageError('usage: finetune runs list|show RUN_ID [--json]');
}

