/**
 * Input schemas of the dataset calls (inspect, preview, prepare, doctor). The API layer parses
 * every argument with these; a failure names the field that is wrong.
 */
import { z } from 'zod';
import type {
  DatasetCleaning,
  DatasetMapping,
  DoctorOptions,
  DoctorSource,
  InspectOverrides,
  ParseOverrides,
  PrepareRequest,
  SplitSpec,
} from './dataset';
import { DELIMITERS, FILE_FORMATS, TEXT_ENCODINGS } from './dataset';

/** A path to a user's file: non-empty, no NUL, bounded. */
export const filePathSchema = z
  .string()
  .min(1, 'a file path is required')
  .max(4096, 'the file path is longer than 4,096 characters')
  .refine((s) => !s.includes('\u0000'), 'the file path cannot contain a NUL character');

/** A file's name as the user knows it (shown in messages; never used as a path). */
export const displayNameSchema = z
  .string()
  .max(255, 'a file name is at most 255 characters')
  .refine((s) => !s.includes('\u0000'), 'a file name cannot contain a NUL character');

/** A prepared dataset id: the sha256 fingerprint in hex. */
export const datasetIdSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a dataset id is a 64-character sha256 fingerprint in lowercase hex');

const columnIndexSchema = z
  .number()
  .int('a column index is a whole number')
  .min(0, 'a column index starts at 0')
  .max(100_000, 'a column index is at most 100,000');

export const parseOverridesSchema = z
  .object({
    format: z.enum(FILE_FORMATS).optional(),
    encoding: z.enum(TEXT_ENCODINGS).optional(),
    delimiter: z.enum(DELIMITERS).nullable().optional(),
    quoted: z.boolean().optional(),
    hasHeader: z.boolean().optional(),
  })
  .strict() satisfies z.ZodType<ParseOverrides>;

export const inspectOverridesSchema = parseOverridesSchema
  .extend({ labelColumn: columnIndexSchema.optional() })
  .strict() satisfies z.ZodType<InspectOverrides>;

const labelValueSchema = z.string().max(1000, 'a label value is at most 1,000 characters');
const labelNameSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'a label name cannot be empty').max(200, 'a label name is at most 200 characters'));

/**
 * Display names of raw label values. The keys are the user's label values, so "__proto__" or
 * "constructor" must stay ordinary keys: z.record drops a "__proto__" key (it assigns into a
 * plain object), so the entries are checked one by one into an object without a prototype.
 */
const labelNamesSchema = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'labelNames is an object of label value -> name')
  .transform((obj, ctx) => {
    const out = Object.create(null) as Record<string, string>;
    for (const [key, value] of Object.entries(obj)) {
      const k = labelValueSchema.safeParse(key);
      const v = labelNameSchema.safeParse(value);
      for (const issue of [...(k.success ? [] : k.error.issues), ...(v.success ? [] : v.error.issues)]) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
      }
      if (k.success && v.success) Object.defineProperty(out, key, { value: v.data, enumerable: true, writable: true, configurable: true });
    }
    return out;
  });

export const datasetMappingSchema = z
  .object({
    textColumns: z
      .array(columnIndexSchema)
      .min(1, 'choose at least one text column')
      .max(64, 'at most 64 text columns can be joined')
      .refine((cols) => new Set(cols).size === cols.length, 'a text column is listed twice'),
    textSeparator: z.string().max(16, 'the separator is at most 16 characters'),
    labelColumn: columnIndexSchema,
    labelNames: labelNamesSchema.optional(),
    parse: parseOverridesSchema.optional(),
  })
  .strict()
  .refine((m) => !m.textColumns.includes(m.labelColumn), {
    message: 'the label column cannot also be a text column',
    path: ['labelColumn'],
  }) satisfies z.ZodType<DatasetMapping>;

export const splitSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('file'),
      evalFile: filePathSchema,
      evalMapping: datasetMappingSchema.optional(),
      evalDisplayName: displayNameSchema.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('ratio'),
      evalRatio: z
        .number()
        .gt(0, 'the evaluation share must be above 0')
        .lt(1, 'the evaluation share must be below 1'),
      seed: z.number().int('the seed is a whole number').min(0).max(2 ** 32 - 1),
    })
    .strict(),
]) satisfies z.ZodType<SplitSpec>;

export const datasetCleaningSchema = z
  .object({
    dropDuplicates: z.boolean().optional(),
    dropConflicting: z.boolean().optional(),
    dropLeakedFromEval: z.boolean().optional(),
  })
  .strict() satisfies z.ZodType<DatasetCleaning>;

export const prepareRequestSchema = z
  .object({
    file: filePathSchema,
    mapping: datasetMappingSchema,
    split: splitSpecSchema,
    name: z
      .string()
      .transform((s) => s.trim())
      .pipe(z.string().min(1, 'the name cannot be empty').max(200, 'the name is at most 200 characters'))
      .optional(),
    displayName: displayNameSchema.optional(),
    cleaning: datasetCleaningSchema.optional(),
  })
  .strict() satisfies z.ZodType<PrepareRequest>;

export const doctorOptionsSchema = z
  .object({
    maxLength: z.number().int().min(8, 'the max length is at least 8').max(8192, 'the max length is at most 8,192').optional(),
    minClassSize: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict() satisfies z.ZodType<DoctorOptions>;

export const doctorSourceSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('file'), file: filePathSchema, mapping: datasetMappingSchema, split: splitSpecSchema.optional(), displayName: displayNameSchema.optional() })
    .strict(),
  z.object({ kind: z.literal('prepared'), id: datasetIdSchema }).strict(),
]) satisfies z.ZodType<DoctorSource>;

export const previewLimitSchema = z.number().int().min(1).max(1000);
