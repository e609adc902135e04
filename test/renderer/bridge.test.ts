/**
 * The Electron preload hands each call's CallResult to the renderer as it is; fromBridge turns it
 * into the value, or a typed AppError with its code and field (contextBridge would keep only the
 * message of a thrown Error).
 */
import { describe, expect, it } from 'vitest';
import type { BridgeApi } from '../../src/shared/api';
import { AppError } from '../../src/shared/errors';
import { fromBridge } from '../../src/renderer/src/lib/api';

const bridge = {
  getRun: async (id: string) => (id === 'x' ? { ok: false, error: { code: 'not_found', message: 'There is no run "x".', field: 'id' } } : { ok: true, value: { id } }),
  pathForFile: async () => '',
  on: () => () => {},
} as unknown as BridgeApi;

describe('fromBridge', () => {
  it('returns the value of an ok result', async () => {
    await expect(fromBridge(bridge).getRun('r1')).resolves.toEqual({ id: 'r1' });
  });

  it('throws an AppError with the code and field of an error result', async () => {
    const err = await fromBridge(bridge).getRun('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('not_found');
    expect((err as AppError).field).toBe('id');
    expect((err as AppError).message).toBe('There is no run "x".');
  });

  it('a file without a path on disk is invalid input', async () => {
    const err = await fromBridge(bridge).pathForFile({} as File).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('invalid_input');
  });
});
