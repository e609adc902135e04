/**
 * The `finetune` command: the same engine, store and data code as the app, headless.
 *   finetune train | resume | runs | init | eval | predict | data | models | export
 * Exit codes: 0 ok, 1 failed, 2 usage. Errors are one line naming the file, row or option.
 */
import { AppError } from '../shared/errors';
import { createApp, type App } from './app';
import { UsageError } from './cli/args';
import type { CliIoWithWrite } from './cli/train';
import { resolveDataDir } from './paths';
import { APP_VERSION } from './version';
import { isMainModule } from './web';

const USAGE = [
  `finetune ${APP_VERSION}: fine-tune BERT-family text classifiers.`,
  '',
  'Commands:',
  '  train     --model DIR|HUB_ID --train FILE [...]   train a classifier (finetune train --help)',
  '  resume    RUN_ID                                  continue an interrupted run from its last checkpoint',
  '  runs      list | show RUN_ID                      past runs',
  '  eval      --model DIR --data FILE                 accuracy and per-class metrics on a labelled file',
  '  predict   --model DIR (--text T... | --input FILE --output FILE)',
  '  init      --config FILE --tokenizer DIR --out DIR a randomly initialised model folder',
  '  data      inspect FILE | doctor FILE              check a dataset before training',
  '  models    list | download REPO | import DIR       models and the Hugging Face cache',
  '  export    RUN_ID --format hf|predictions|recipe --out DIR',
  '',
  'Add --json for machine-readable output. Data lives in FINETUNE_HOME (default ~/.finetune-studio).',
];

type Command = (argv: string[], io: CliIoWithWrite, app: () => App) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  // Each command loads its code on demand: `runs list` need not load TensorFlow.js.
  train: async (argv, io, app) => (await import('./cli/train')).trainCommand(app(), argv, io),
  resume: async (argv, io, app) => (await import('./cli/train')).resumeCommand(app(), argv, io),
  runs: async (argv, io, app) => (await import('./cli/runs')).runsCommand(app(), argv, io),
  init: async (argv, io) => (await import('./cli/train')).initCommand(argv, io),
  data: async (argv, io) => (await import('./cli/data')).dataCommand(argv, io),
  eval: async (argv, io, app) => (await import('./cli/predict')).evalCommand(app(), argv, io),
  predict: async (argv, io, app) => (await import('./cli/predict')).predictCommand(app(), argv, io),
  models: async (argv, io) => (await import('./cli/models')).modelsCommand(argv, io),
  export: async (argv, io, app) => (await import('./cli/export')).exportCommand(app(), argv, io),
};

export async function runCli(argv: string[], io: CliIoWithWrite): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    USAGE.forEach((l) => io.out(l));
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.out(APP_VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`finetune: unknown command "${name}". Run finetune --help for the list.`);
    return 2;
  }
  let app: App | null = null;
  const getApp = (): App => (app ??= createApp({ dataDir: resolveDataDir(), host: 'cli' }));
  try {
    return await command(rest, io, getApp);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`finetune ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof AppError) {
      io.err(`finetune ${name}: ${err.message}`);
      return err.code === 'invalid_input' ? 2 : 1;
    }
    io.err(`finetune ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    (app as App | null)?.close();
  }
}

if (isMainModule(import.meta.url) || process.env.FINETUNE_CLI_ENTRY === '1') {
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
  const io: CliIoWithWrite = {
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
