/**
 * One zod schema per AppApi method: the tuple of its arguments, with their names for messages.
 * ipc.ts and web.ts parse every call with these before it reaches the implementation, so bad
 * input becomes an 'invalid_input' error naming the field, never a crash.
 */
import { z } from 'zod';
import { EXPORT_FORMATS, type ApiMethod, type AppApi } from './api';
import { datasetIdSchema, doctorSourceSchema, filePathSchema, inspectOverridesSchema, prepareRequestSchema, previewLimitSchema } from './dataset-schema';
import { AppError } from './errors';
import { hubIdSchema, modelRefSchema, revisionSchema } from './models-schema';
import { mlmStageSchema, trainingOptionsSchema } from './run-config';
import { BACKEND_NAMES } from './types';

/** Predictions CSV options: csvInjectionSafe false writes formula-like cells verbatim. */
export const csvExportOptionsSchema = z.object({ csvInjectionSafe: z.boolean().optional() }).strict();
import { SCRATCH_SHAPES } from './scratch';

export const runIdSchema = z
  .string()
  .min(1, 'a run id is required')
  .max(64, 'a run id is at most 64 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'a run id holds only letters, digits, "-" and "_"');

export const runNameSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'the name cannot be empty')
      .max(200, 'the name is at most 200 characters')
      .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'the name cannot hold control characters'),
  );

export const taskIdSchema = z
  .string()
  .min(1)
  .max(80, 'a task id is at most 80 characters')
  .regex(/^[A-Za-z0-9_.:-]+$/, 'a task id holds only letters, digits and . _ : -');

const pathSchema = z.string().min(1, 'a path is required').max(4096, 'the path is too long').refine((s) => !s.includes('\0'), 'the path cannot hold NUL characters');

export const startRunRequestSchema = z
  .object({
    name: runNameSchema.optional(),
    model: modelRefSchema,
    datasetId: datasetIdSchema,
    options: trainingOptionsSchema,
    backend: z.enum(BACKEND_NAMES).optional(),
    modelStart: z.enum(['pretrained', 'scratch']).optional(),
    /** Masked-LM adaptation before fine-tuning (RunConfig.mlm). */
    mlm: mlmStageSchema.nullable().optional(),
  })
  .strict();

const labelIndex = z.number().int().min(0).max(100_000).nullable();

/** Arguments of each method: names (for messages) and the tuple schema. */
const spec = <N extends string[], S extends z.ZodType>(names: N, schema: S) => ({ names, schema });

export const apiArgs = {
  systemInfo: spec([], z.tuple([])),
  cancelTask: spec(['taskId'], z.tuple([taskIdSchema])),
  chooseFile: spec(['purpose'], z.tuple([z.enum(['dataset', 'predict-input'])])),
  chooseFolder: spec(['purpose'], z.tuple([z.enum(['model', 'export'])])),
  showInFolder: spec(['path'], z.tuple([pathSchema])),

  inspectDataset: spec(['file', 'overrides', 'taskId'], z.tuple([filePathSchema, inspectOverridesSchema.optional(), taskIdSchema.optional()])),
  previewDataset: spec(['file', 'limit', 'overrides'], z.tuple([filePathSchema, previewLimitSchema.optional(), inspectOverridesSchema.optional()])),
  prepareDataset: spec(['request', 'taskId'], z.tuple([prepareRequestSchema, taskIdSchema.optional()])),
  listDatasets: spec([], z.tuple([])),
  getDataset: spec(['id'], z.tuple([datasetIdSchema])),
  deleteDataset: spec(['id'], z.tuple([datasetIdSchema])),
  doctorDataset: spec(
    ['source', 'options', 'taskId'],
    z.tuple([
      doctorSourceSchema,
      z
        .object({
          model: modelRefSchema.optional(),
          maxLength: z.number().int().min(8, 'the max length is at least 8').max(8192).optional(),
          minClassSize: z.number().int().min(1).max(1_000_000).optional(),
        })
        .strict()
        .optional(),
      taskIdSchema.optional(),
    ]),
  ),
  computeBaseline: spec(['datasetId', 'taskId'], z.tuple([datasetIdSchema, taskIdSchema.optional()])),

  listModels: spec([], z.tuple([])),
  downloadModel: spec(['repo', 'revision', 'taskId'], z.tuple([hubIdSchema, revisionSchema.optional(), taskIdSchema.optional()])),
  inspectModelFolder: spec(['dir'], z.tuple([pathSchema])),
  createScratchModel: spec(
    ['request'],
    z.tuple([
      z
        .object({
          shape: z.enum(SCRATCH_SHAPES),
          labels: z.array(z.string().min(1, 'a label cannot be empty').max(200)).min(2, 'a classifier needs at least 2 labels').max(10_000).optional(),
        })
        .strict(),
    ]),
  ),
  listFolder: spec(['path'], z.tuple([pathSchema.optional()])),
  estimateTraining: spec(['request', 'taskId'], z.tuple([startRunRequestSchema, taskIdSchema.optional()])),

  listRuns: spec([], z.tuple([])),
  getRun: spec(['id'], z.tuple([runIdSchema])),
  renameRun: spec(['id', 'name'], z.tuple([runIdSchema, runNameSchema])),
  deleteRun: spec(['id'], z.tuple([runIdSchema])),
  startRun: spec(['request'], z.tuple([startRunRequestSchema])),
  cancelRun: spec(['id'], z.tuple([runIdSchema])),
  resumeRun: spec(['id'], z.tuple([runIdSchema])),
  rerun: spec(['id'], z.tuple([runIdSchema])),
  evalPredictions: spec(
    ['id', 'query'],
    z.tuple([runIdSchema, z.object({ trueLabel: labelIndex, predictedLabel: labelIndex, limit: z.number().int().min(1).max(10_000).optional() }).strict()]),
  ),
  predictTexts: spec(
    ['id', 'texts'],
    z.tuple([runIdSchema, z.array(z.string().max(100_000, 'a text is at most 100,000 characters')).min(1, 'give at least one text').max(1000, 'at most 1,000 texts at once')]),
  ),
  predictFile: spec(['id', 'inputFile', 'taskId', 'options'], z.tuple([runIdSchema, filePathSchema, taskIdSchema.optional(), csvExportOptionsSchema.optional()])),
  exportRun: spec(['id', 'format', 'outDir', 'taskId', 'options'], z.tuple([runIdSchema, z.enum(EXPORT_FORMATS), pathSchema.optional(), taskIdSchema.optional(), csvExportOptionsSchema.optional()])),
} satisfies { [K in ApiMethod]: { names: string[]; schema: z.ZodType } };

export const API_METHODS = Object.keys(apiArgs) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiArgs, name);
}

/** Parses a method's arguments or throws an AppError('invalid_input') naming the field. */
export function parseArgs<K extends ApiMethod>(method: K, args: unknown): Parameters<AppApi[K]> {
  if (!Array.isArray(args)) {
    throw new AppError('invalid_input', `${method}: the arguments must be a list`);
  }
  const { names, schema } = apiArgs[method] as { names: string[]; schema: z.ZodType };
  // An optional argument left out travels as JSON null (JSON has no undefined): the same as absent,
  // in the middle of the list too (inspectDataset(file, undefined, taskId) over HTTP).
  const items = (schema as unknown as { def?: { items?: z.ZodType[] } }).def?.items ?? [];
  const trimmed = args.map((a, i) => (a === null && items[i] && !items[i].safeParse(null).success && items[i].safeParse(undefined).success ? undefined : a));
  while (trimmed.length > 0 && (trimmed[trimmed.length - 1] === undefined || trimmed[trimmed.length - 1] === null) && trimmed.length > requiredCount(schema)) trimmed.pop();
  const result = schema.safeParse(trimmed);
  if (result.success) return result.data as Parameters<AppApi[K]>;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  const first = typeof path[0] === 'number' ? (names[path[0]] ?? `argument ${path[0] + 1}`) : '';
  const field = [first, ...path.slice(1).map(String)].filter(Boolean).join('.');
  let message = issue?.message ?? 'invalid arguments';
  if ((issue?.code === 'too_big' || issue?.code === 'too_small') && path.length === 0) {
    message = `expects ${requiredCount(schema)} to ${names.length} argument(s)`;
  }
  throw new AppError('invalid_input', `${method}: ${field ? `${field}: ` : ''}${message}`, field || undefined);
}

function requiredCount(schema: z.ZodType): number {
  const items = (schema as unknown as { def?: { items?: z.ZodType[] } }).def?.items ?? [];
  let n = 0;
  items.forEach((item, i) => {
    if (!item.safeParse(undefined).success) n = i + 1;
  });
  return n;
}
