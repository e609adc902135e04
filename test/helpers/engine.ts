import { initBackend } from '../../src/main/engine/backends/start';
import { tf } from '../../src/main/engine/tf';
import type { BackendName } from '../../src/shared/types';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export async function setTestBackend(name: string): Promise<void> {
  await initBackend(name as BackendName);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not start`);
}

/**
 * Runs fn in a tidy and reads its result asynchronously (webgpu cannot read synchronously; the
 * CPU backends give the same values either way), then disposes it.
 */
export async function tidyData(fn: () => tf.Tensor): Promise<Float32Array> {
  const t = tf.tidy(fn);
  try {
    return Float32Array.from((await t.data()) as Float32Array);
  } finally {
    t.dispose();
  }
}

/** tidyData, as nested arrays (arraySync's shape). */
export async function tidyArray<T = number[][]>(fn: () => tf.Tensor): Promise<T> {
  const t = tf.tidy(fn);
  try {
    return (await t.array()) as T;
  } finally {
    t.dispose();
  }
}
