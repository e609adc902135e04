/**
 * `finetune models`: the catalog and the Hugging Face cache, downloads, and local imports.
 *
 *   finetune models list [--json]
 *   finetune models download REPO [--revision R] [--json]
 *   finetune models import DIR [--json]
 *
 * Downloads honour HF_ENDPOINT, HF_TOKEN (or the token file of `huggingface-cli login`) and
 * HF_HUB_CACHE / HF_HOME. Exit codes: 0 done, 1 failed, 2 usage.
 */
import type { CatalogModel, DownloadProgress, ImportReport } from '../../shared/models';
import { formatBytes, formatEta } from '../../shared/format';
import { downloadModelInputSchema, importModelInputSchema } from '../../shared/models-schema';
import { hubCacheDir, listCachedModels } from '../hub/cache';
import { listCatalogModels } from '../hub/catalog';
import { downloadModel, type DownloadResult } from '../hub/download';
import { inspectModelFolder } from '../hf/inspect';
import { Args, guarded, JSON_FLAG, parseArgs, UsageError, type CommandSpec } from './args';
import type { CliIo } from './io';

export type { CliIo as ModelsCliIo };

export const MODELS_SPECS: Record<'list' | 'download' | 'import', CommandSpec> = {
  list: { path: 'models list', summary: 'Suggested models, and what the Hugging Face cache holds.', flags: { json: JSON_FLAG } },
  download: {
    path: 'models download',
    args: 'REPO',
    positionals: { min: 0, max: 1 },
    summary: 'Download a Hub model into the Hugging Face cache (resumes an interrupted download).',
    flags: { revision: { kind: 'string', value: 'R', help: 'a branch, tag or commit hash (default main)' }, json: JSON_FLAG },
    notes: ['Environment: HF_ENDPOINT (Hub URL), HF_TOKEN (gated/private models), HF_HUB_CACHE or HF_HOME (cache folder).'],
  },
  import: { path: 'models import', args: 'DIR', positionals: { min: 1, max: 1 }, summary: 'Check a local model folder.', flags: { json: JSON_FLAG } },
};

const USAGE = [
  'Usage:',
  '  finetune models list [--json]                        suggested models, and what the Hugging Face cache holds',
  '  finetune models download REPO [--revision R] [--json] download a Hub model into the cache (resumes)',
  '  finetune models import DIR [--json]                  check a local model folder',
  '',
  'Environment: HF_ENDPOINT (Hub URL), HF_TOKEN (gated/private models), HF_HUB_CACHE or HF_HOME (cache folder),',
  'HF_HUB_OFFLINE=1 (use only the cache when training).',
];

/** Parameter counts as the catalog's model cards give them (109.5M). */
function formatParams(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}k`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function listCommand(p: Args, io: CliIo): number {
  const json = p.has('json');
  const cacheDir = hubCacheDir();
  const models = listCatalogModels({ cacheDir });
  const catalogIds = new Set(models.map((m) => m.id));
  const others = listCachedModels(cacheDir).filter((c) => !catalogIds.has(c.repo));
  if (json) {
    io.out(JSON.stringify({ cacheDir, models, otherCachedModels: others.map((o) => ({ id: o.repo, sizeBytes: o.sizeBytes, revisions: o.revisions.map((r) => ({ commit: r.commit, refs: r.refs, dir: r.dir, complete: r.complete })) })) }, null, 2));
    return 0;
  }
  io.out(`Hugging Face cache: ${cacheDir}`);
  const rows = models.map((m: CatalogModel) => [
    m.id,
    formatParams(m.parameters),
    formatBytes(m.downloadBytes),
    m.relativeCost >= 0.1 ? m.relativeCost.toFixed(2) : m.relativeCost.toPrecision(2),
    m.agNewsAccuracy ? `${(m.agNewsAccuracy.value * 100).toFixed(1)}%` : 'not reported',
    m.cached ? 'yes' : 'no',
  ]);
  const header = ['MODEL', 'PARAMS', 'DOWNLOAD', 'COST', 'AG NEWS', 'CACHED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  io.out(header.map((h, i) => pad(h, widths[i]!)).join('  '));
  for (const r of rows) io.out(r.map((c, i) => pad(c, widths[i]!)).join('  '));
  io.out('COST: training time per example relative to bert-base-uncased. AG NEWS: test accuracy a public model card reports for a fine-tune (see --json for the card).');
  if (others.length) {
    io.out('Also in the cache:');
    for (const o of others) io.out(`  ${o.repo}  ${formatBytes(o.sizeBytes)}${o.revisions.some((r) => r.complete) ? '' : '  (incomplete)'}`);
  }
  io.out('Any other Hub id works too: finetune models download ORG/NAME');
  return 0;
}

function progressPrinter(io: CliIo, json: boolean): { onProgress: (p: DownloadProgress) => void; end: () => void } {
  let barShown = false;
  let lastLine = 0;
  let lastFile: string | null = null;
  const end = (): void => {
    if (barShown && io.write) io.write('\n');
    barShown = false;
  };
  const onProgress = (p: DownloadProgress): void => {
    if (json) {
      const now = Date.now();
      if (p.phase === 'done' || now - lastLine >= 1000) {
        lastLine = now;
        io.out(JSON.stringify({ event: 'progress', ...p }));
      }
      return;
    }
    const pct = p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : 0;
    const text = `${pct}% ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} ${formatBytes(p.bytesPerSecond)}/s ETA ${formatEta(p.etaSeconds)} ${p.filesDone}/${p.filesTotal} files${p.file ? ` ${p.file}` : ''}`;
    if (io.isTTY && io.write) {
      if (p.phase === 'metadata') return;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      io.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      barShown = true;
      return;
    }
    // Plain output: a line per file started and every 10 seconds.
    const now = Date.now();
    if ((p.file && p.file !== lastFile) || now - lastLine >= 10_000 || p.phase === 'done') {
      lastFile = p.file;
      lastLine = now;
      io.out(text);
    }
  };
  return { onProgress, end };
}

async function downloadCommand(p: Args, io: CliIo): Promise<number> {
  const input = downloadModelInputSchema.safeParse({ repo: p.positional[0], revision: p.string('revision') });
  if (!input.success) {
    const issue = input.error.issues[0];
    throw new UsageError(`${issue?.path[0] === 'revision' ? '--revision' : 'REPO'}: ${issue?.message ?? 'invalid'}`);
  }
  const { repo, revision } = input.data;
  const json = p.has('json');
  const printer = progressPrinter(io, json);
  if (!json) io.out(`Downloading ${repo}${revision ? `@${revision}` : ''} into ${hubCacheDir()}`);
  let result: DownloadResult;
  try {
    result = await downloadModel(repo, { revision, onProgress: printer.onProgress, signal: io.signal });
  } finally {
    printer.end();
  }
  if (json) {
    io.out(JSON.stringify({ event: 'done', ...result }));
  } else {
    io.out(`${repo} at commit ${result.commit.slice(0, 12)} is ready: ${result.dir}`);
    io.out(`${formatBytes(result.downloadedBytes)} downloaded, ${formatBytes(result.reusedBytes)} already in the cache; weights: ${result.weightsFormat}`);
  }
  return 0;
}

function printReport(report: ImportReport, io: CliIo): void {
  io.out(`${report.dir}: ${report.ok ? 'ready to train' : 'cannot be used yet'}`);
  io.out(`  family: ${report.family ?? 'unknown'}; weights: ${report.weightsFormat ?? 'none'}${report.weightFiles.length > 1 ? ` (${report.weightFiles.length} files)` : ''}; tokenizer: ${report.tokenizerSource ?? 'none'}`);
  if (report.labels) io.out(`  labels: ${report.labels.join(', ')}`);
  for (const m of report.missing) io.out(`  missing: ${m}`);
  for (const u of report.unsupported) io.out(`  unsupported: ${u}`);
  for (const w of report.warnings) io.out(`  note: ${w}`);
}

async function importCommand(p: Args, io: CliIo): Promise<number> {
  const input = importModelInputSchema.safeParse({ dir: p.positional[0] });
  if (!input.success) throw new UsageError(`DIR: ${input.error.issues[0]?.message ?? 'invalid'}`);
  const report = await inspectModelFolder(input.data.dir);
  if (p.has('json')) io.out(JSON.stringify(report, null, 2));
  else printReport(report, io);
  return report.ok ? 0 : 1;
}

export async function modelsCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  let where = 'models';
  return guarded(io, () => where, async () => {
    if (sub === 'help' || sub === '--help' || sub === '-h') {
      USAGE.forEach((l) => io.out(l));
      return 0;
    }
    if (sub !== 'list' && sub !== 'download' && sub !== 'import') {
      throw new UsageError(sub === undefined ? 'missing subcommand: list, download REPO or import DIR' : `unknown subcommand "${sub}": use list, download or import`);
    }
    where = `models ${sub}`;
    const spec = MODELS_SPECS[sub];
    const args = parseArgs(spec, rest, io);
    if (!args) return 0;
    if (sub === 'download' && args.positional.length !== 1) throw new UsageError('download needs exactly one model id, e.g. "finetune models download roberta-base"');
    if (sub === 'list') return listCommand(args, io);
    if (sub === 'download') return downloadCommand(args, io);
    return importCommand(args, io);
  });
}

