/**
 * The `finetune` command: a transport over the same AppApi as the Electron IPC and the web host
 * (createApp()), headless. Commands that need no run records (data, models, eval, predict, init)
 * never open the database.
 *   finetune train | resume | pretrain | runs | init | eval | predict | data | models | export
 * One parser (cli/args.ts), one error line (`finetune <command>: <message>` on stderr), exit codes
 * 0 ok, 1 failed, 2 usage.
 */
import { createApp, type App } from './app';
import { environment } from './environment';
import { guarded, helpLines, nearest, UsageError, type CommandSpec } from './cli/args';
import type { CliIo } from './cli/io';
import { resolveDataDir } from './paths';
import { APP_VERSION } from './version';
import { isMainModule } from './web';
import { ownValue } from '../shared/own';

const USAGE = [
  `finetune ${APP_VERSION}: fine-tune BERT-family text classifiers.`,
  '',
  'Commands:',
  '  train     --model DIR|HUB_ID --train FILE [...]   train a classifier (finetune train --help)',
  '  resume    RUN_ID                                  continue an interrupted run from its last checkpoint',
  '  pretrain  --model M --texts FILE --out DIR        adapt a model to your texts (masked LM) first',
  '  runs      list | show RUN_ID                      past runs',
  '  eval      --model DIR --data FILE                 accuracy and per-class metrics on a labelled file',
  '  predict   --model DIR (--text T... | --input FILE --output FILE)',
  '  init      --config FILE --tokenizer DIR --out DIR a randomly initialised model folder',
  '  data      inspect FILE | doctor FILE              check a dataset before training',
  '  models    list | download REPO | import DIR       models and the Hugging Face cache',
  '  export    RUN_ID --format hf|predictions|recipe [--out PATH]',
  '  baseline  DATASET_ID|FILE [--export FILE]         the keyword baseline a fine-tuned model should beat',
  '',
  'Every command takes --help, and --json for machine-readable output.',
  'Data lives in FINETUNE_HOME (default ~/.finetune-studio).',
];

interface CommandContext {
  io: CliIo;
  /** The app (and its database), opened on first use. */
  app: () => App;
  /** Names the subcommand in error lines once it is known ("runs show"). */
  setWhere(where: string): void;
}

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  // Each command loads its code on demand: `runs list` need not load TensorFlow.js.
  train: async (argv, c) => (await import('./cli/train')).trainCommand(c.app, argv, c.io),
  resume: async (argv, c) => (await import('./cli/train')).resumeCommand(c.app, argv, c.io),
  pretrain: async (argv, c) => (await import('./cli/pretrain')).pretrainCommand(argv, c.io),
  runs: async (argv, c) => (await import('./cli/runs')).runsCommand(c.app, argv, c.io, c.setWhere),
  init: async (argv, c) => (await import('./cli/init')).initCommand(argv, c.io),
  eval: async (argv, c) => (await import('./cli/predict')).evalCommand(argv, c.io),
  predict: async (argv, c) => (await import('./cli/predict')).predictCommand(argv, c.io),
  // data, models and export print their own error lines (their tests call them directly).
  data: async (argv, c) => (await import('./cli/data')).dataCommand(argv, c.io),
  models: async (argv, c) => (await import('./cli/models')).modelsCommand(argv, c.io),
  export: async (argv, c) => (await import('./cli/export')).exportCommand(c.app(), argv, c.io),
  baseline: async (argv, c) => (await import('./cli/baseline')).baselineCommand(c.app, argv, c.io),
};

/** The spec of a command for `finetune help COMMAND`. */
async function specOf(name: string): Promise<CommandSpec | null> {
  switch (name) {
    case 'train':
      return (await import('./cli/train')).TRAIN_SPEC;
    case 'resume':
      return (await import('./cli/train')).RESUME_SPEC;
    case 'pretrain':
      return (await import('./cli/pretrain')).PRETRAIN_SPEC;
    case 'eval':
      return (await import('./cli/predict')).EVAL_SPEC;
    case 'predict':
      return (await import('./cli/predict')).PREDICT_SPEC;
    case 'init':
      return (await import('./cli/init')).INIT_SPEC;
    case 'export':
      return (await import('./cli/export')).EXPORT_SPEC;
    case 'baseline':
      return (await import('./cli/baseline')).BASELINE_SPEC;
    default:
      return null;
  }
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    USAGE.forEach((l) => (name ? io.out(l) : io.err(l)));
    return name ? 0 : 2;
  }
  if (name === 'help') {
    const spec = rest[0] ? await specOf(rest[0]) : null;
    const helpCommand = rest[0] ? ownValue(COMMANDS, rest[0]) : undefined;
    if (rest[0] && !spec && helpCommand) return helpCommand(['--help'], { io, app: () => { throw new UsageError('no app for help'); }, setWhere: () => undefined });
    (spec ? helpLines(spec) : USAGE).forEach((l) => io.out(l));
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(APP_VERSION);
    return 0;
  }
  const command = ownValue(COMMANDS, name);
  if (!command) {
    const near = nearest(name, Object.keys(COMMANDS));
    io.err(`finetune: unknown command "${name}"${near ? `; did you mean ${near}?` : ''} (finetune --help lists them)`);
    return 2;
  }
  let app: App | null = null;
  let where = name;
  const ctx: CommandContext = {
    io,
    app: () => (app ??= createApp({ dataDir: resolveDataDir(), host: 'cli' })),
    setWhere: (w) => (where = w),
  };
  try {
    return await guarded(io, () => where, () => command(rest, ctx));
  } finally {
    (app as App | null)?.close();
  }
}

/** FINETUNE_CLI_ENTRY (the bin shim), read through the one environment reader. */
function calledAsCli(): boolean {
  if (isMainModule(import.meta.url)) return true;
  try {
    return environment().cliEntry;
  } catch (err) {
    process.stderr.write(`finetune: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return false;
  }
}

if (calledAsCli()) {
  // `finetune runs list | head`: a closed pipe ends the command quietly, as Unix tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  const controller = new AbortController();
  let interrupted = 0;
  process.on('SIGINT', () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write('\nCancelling... (Ctrl-C again to quit at once)\n');
    controller.abort();
  });
  const io: CliIo = {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    write: (s) => process.stdout.write(s),
    isTTY: !!process.stdout.isTTY,
    signal: controller.signal,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`finetune: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
