/** The one argument parser and the one column rule of the CLI (in process: no build needed). */
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { editDistance, errorLine, exitCodeFor, helpLines, nearest, parseArgs, UsageError, type CommandSpec } from '../../src/main/cli/args';
import { resolveColumn } from '../../src/main/cli/dataset-flags';
import { TRAIN_SPEC } from '../../src/main/cli/train';
import { AppError } from '../../src/shared/errors';

const SPEC: CommandSpec = {
  path: 'demo',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  summary: 'a demo',
  flags: {
    epochs: { kind: 'number', min: 0.01, value: 'N', help: 'epochs' },
    'batch-size': { kind: 'number', integer: true, min: 1, value: 'N', help: 'batch' },
    model: { kind: 'path', value: 'DIR', required: true, help: 'a model' },
    metric: { kind: 'string', choices: ['accuracy', 'macro_f1'], help: 'metric' },
    tag: { kind: 'string', repeat: true, help: 'tags' },
    json: { kind: 'switch', help: 'json' },
  },
};

const usage = (argv: string[]): string => {
  try {
    parseArgs(SPEC, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it('reads values, switches, repeats, = forms and ~ in paths', () => {
    const a = parseArgs(SPEC, ['f.csv', '--epochs=2.5', '--model', '~/models/x', '--tag', 'a,b', '--tag', 'c', '--json'])!;
    expect(a.positional).toEqual(['f.csv']);
    expect(a.number('epochs')).toBe(2.5);
    expect(a.string('model')).toBe(path.join(os.homedir(), 'models/x'));
    expect(a.list('tag')).toEqual(['a', 'b', 'c']);
    expect(a.has('json')).toBe(true);
    expect(a.has('metric')).toBe(false);
  });

  it('suggests the nearest flag for a typo, and none for a word far from every flag', () => {
    expect(usage(['f', '--model', 'm', '--epoch', '3'])).toBe('unknown option --epoch; did you mean --epochs?');
    expect(usage(['f', '--model', 'm', '--batch_size', '3'])).toBe('unknown option --batch_size; did you mean --batch-size?');
    expect(usage(['f', '--model', 'm', '--frobnicate'])).toBe('unknown option --frobnicate');
    expect(usage(['f', '--model', 'm', '--metric', 'acuracy'])).toBe('--metric: "acuracy" is not one of accuracy, macro_f1; did you mean accuracy?');
    expect(nearest('trian', ['train', 'runs', 'resume'])).toBe('train');
    expect(editDistance('epoch', 'epochs')).toBe(1);
  });

  it('refuses bad values, missing values, repeats of a single flag, missing required flags and extra arguments', () => {
    expect(usage(['f', '--model', 'm', '--epochs', 'many'])).toBe('--epochs: "many" is not a number');
    expect(usage(['f', '--model', 'm', '--batch-size', '2.5'])).toBe('--batch-size: "2.5" is not a whole number');
    expect(usage(['f', '--model', 'm', '--batch-size', '0'])).toBe('--batch-size: 0 is below 1');
    expect(usage(['f', '--model', '--json'])).toBe('--model needs a value (DIR)');
    expect(usage(['f', '--model', 'a', '--model', 'b'])).toBe('--model was given 2 times');
    expect(usage(['f'])).toBe('--model is required (a model)');
    expect(usage(['f', 'g', '--model', 'm'])).toBe('unexpected argument "g"');
    expect(usage(['--json', '--model', 'm'])).toMatch(/^FILE is required/);
    expect(usage(['f', '--model', 'm', '--json=1'])).toBe('--json takes no value');
  });

  it('prints --help from the spec instead of parsing', () => {
    const out: string[] = [];
    expect(parseArgs(SPEC, ['--help'], { out: (l) => out.push(l), err: () => undefined, isTTY: false })).toBeNull();
    expect(out[0]).toBe('Usage: finetune demo FILE --model DIR [options]');
    expect(out.some((l) => /--metric X\s+metric; one of accuracy, macro_f1/.test(l))).toBe(true);
    // Every training option of the app has a flag, and the help lists the doctor's fixes.
    const train = helpLines(TRAIN_SPEC).join('\n');
    for (const flag of ['--drop-duplicates', '--drop-conflicting', '--drop-leaked', '--preset', '--max-grad-norm', '--eval-batch-size', '--backend NAME']) expect(train).toContain(flag);
  });
});

describe('errors', () => {
  it('one line `finetune <command>: <message>`; exit 2 for the command line, 1 for a failure', () => {
    expect(errorLine('data doctor', new UsageError('bad'))).toBe('finetune data doctor: bad');
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new AppError('invalid_input', 'too long', 'options.maxLength'))).toBe(2);
    expect(exitCodeFor(new AppError('invalid_input', 'empty file'))).toBe(1);
    expect(exitCodeFor(new AppError('not_found', 'no file'))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });
});

describe('resolveColumn: one rule for every command', () => {
  const cols = ['Title', 'Description', 'label'];
  it('a name in any case, or a 1-based number', () => {
    expect(resolveColumn('Title', cols, '--text-column')).toBe(0);
    expect(resolveColumn('title', cols, '--text-column')).toBe(0);
    expect(resolveColumn(' LABEL ', cols, '--label-column')).toBe(2);
    expect(resolveColumn('2', cols, '--text-column')).toBe(1);
  });
  it('an exact name wins over a case variant; an unknown column lists the columns', () => {
    expect(resolveColumn('a', ['A', 'a'], '--text-column')).toBe(1);
    expect(() => resolveColumn('4', cols, '--text-column')).toThrow('--text-column "4": no such column; the columns are 1 "Title", 2 "Description", 3 "label"');
  });
});
