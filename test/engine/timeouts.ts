/**
 * Heavy engine tests (real models, the Python reference, whole training runs) take seconds on a
 * quiet machine and minutes on a busy CI runner. Their verdict must depend on the numbers, never on
 * the speed: they get a generous per-test and per-hook timeout instead of vitest's 60 s default.
 */
import { vi } from 'vitest';

export const HEAVY_TEST_TIMEOUT_MS = 10 * 60_000;

/** Call at the top of a heavy test file: every test and hook in the file gets the heavy timeout. */
export function useHeavyTimeouts(): void {
  vi.setConfig({ testTimeout: HEAVY_TEST_TIMEOUT_MS, hookTimeout: HEAVY_TEST_TIMEOUT_MS });
}
