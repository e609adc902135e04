/** `finetune init`: a randomly initialised model folder from a config and a tokenizer (no database). */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { formatParams, plural } from '../../shared/format';
import type { JsonObject } from '../../shared/json';
import { parseModelConfig, withLabels } from '../hf/config';
import { createModel, initialiseModel } from '../engine/models/index';
import { saveModelFolder } from '../engine/save';
import { readTokenizerFiles } from '../engine/tokenizer';
import { JSON_FLAG, parseArgs, type CommandSpec } from './args';
import type { CliIo } from './io';

export const INIT_SPEC: CommandSpec = {
  path: 'init',
  summary: 'Write a randomly initialised model folder (to train from scratch) from a config.json and a tokenizer.',
  flags: {
    config: { kind: 'path', value: 'FILE', required: true, help: 'a Hugging Face config.json (model_type, sizes)' },
    tokenizer: { kind: 'path', value: 'DIR', required: true, help: 'a folder with the tokenizer files' },
    out: { kind: 'path', value: 'DIR', required: true, help: 'the model folder to write' },
    labels: { kind: 'string', value: 'A,B,...', help: 'the label names' },
    seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1, value: 'N', help: 'seed of the random weights (default 42)' },
    json: JSON_FLAG,
  },
};

export async function initCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(INIT_SPEC, argv, io);
  if (!args) return 0;
  const configFile = args.string('config')!;
  const tokDir = args.string('tokenizer')!;
  const out = path.resolve(args.string('out')!);
  let raw: JsonObject;
  try {
    raw = JSON.parse(fs.readFileSync(configFile, 'utf8')) as JsonObject;
  } catch (err) {
    throw new AppError('invalid_input', `--config ${configFile}: ${(err as Error).message}`, 'config');
  }
  let config = parseModelConfig(raw, configFile);
  const labels = args.list('labels');
  if (labels.length) config = withLabels(config, labels);
  const tokenizer = await readTokenizerFiles(tokDir, config.modelType);
  const model = createModel(config);
  try {
    initialiseModel(model, args.number('seed') ?? 42);
    saveModelFolder(out, model, { sourceDir: tokDir, tokenizer });
  } finally {
    model.store.dispose();
  }
  const params = [...model.store.specs.values()].reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  if (args.has('json')) io.out(JSON.stringify({ out, model_type: config.modelType, parameters: params, labels: config.id2label }));
  else io.out(`Wrote a randomly initialised ${config.modelType} model (${formatParams(params)} parameters, ${plural(config.numLabels, 'label')}) to ${out}`);
  return 0;
}
