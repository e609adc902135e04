/**
 * One zod schema per AppApi method: the tuple of its arguments. ipc.ts and web.ts parse every
 * call with these before it reaches the implementation, so bad input becomes an
 * 'invalid_input' error naming the field, never a crash.
 */
import { z } from 'zod';
import type { AppApi, ApiMethod } from './api';
import { AppError } from './errors';

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

type ArgsSchemas = { [K in ApiMethod]: z.ZodType<Parameters<AppApi[K]>> };

export const apiArgs = {
  systemInfo: z.tuple([]),
  listRuns: z.tuple([]),
  getRun: z.tuple([runIdSchema]),
  renameRun: z.tuple([runIdSchema, runNameSchema]),
  deleteRun: z.tuple([runIdSchema]),
} satisfies ArgsSchemas;

export const API_METHODS = Object.keys(apiArgs) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiArgs, name);
}

const ARG_NAMES: { [K in ApiMethod]: string[] } = {
  systemInfo: [],
  listRuns: [],
  getRun: ['id'],
  renameRun: ['id', 'name'],
  deleteRun: ['id'],
};

/** Parses a method's arguments or throws an AppError('invalid_input') naming the field. */
export function parseArgs<K extends ApiMethod>(method: K, args: unknown): Parameters<AppApi[K]> {
  if (!Array.isArray(args)) {
    throw new AppError('invalid_input', `${method}: the arguments must be a list`);
  }
  const schema = apiArgs[method] as unknown as z.ZodType<Parameters<AppApi[K]>>;
  const result = schema.safeParse(args);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  const names = ARG_NAMES[method];
  const first = typeof path[0] === 'number' ? (names[path[0]] ?? `argument ${path[0] + 1}`) : '';
  const field = [first, ...path.slice(1).map(String)].filter(Boolean).join('.');
  let message = issue?.message ?? 'invalid arguments';
  if (issue?.code === 'too_big' && path.length === 0) message = `expects ${names.length} argument(s)`;
  if (issue?.code === 'too_small' && path.length === 0) message = `expects ${names.length} argument(s)`;
  throw new AppError('invalid_input', `${method}: ${field ? `${field}: ` : ''}${message}`, field || undefined);
}
