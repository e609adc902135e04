import { describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../src/main/engine/native/index';

const load = loadNativeAddon();

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * 4;
  }
  return out;
}

describe.skipIf(!load.ok)(`GEMM with a GELU epilogue${load.ok ? '' : ` — skipped: ${load.ok ? '' : load.reason}`}`, () => {
  it.each([
    ['gelu', 'erf'],
    ['gelu_new', 'tanh'],
  ] as const)('%s in the epilogue equals GEMM + bias, then the separate GELU kernel, bit for bit', (activation, form) => {
    if (!load.ok) return;
    const a = load.addon;
    for (const [m, n, k] of [[37, 53, 29], [128, 96, 64], [1, 1, 1], [200, 300, 17]] as const) {
      const x = random(m * k, 1);
      const w = random(n * k, 2);
      const b = random(n, 3);
      const plain = new Float32Array(m * n);
      a.gemm(x, [], w, [], plain, false, true, m, n, k, 1, 0, b, 'linear', 0, null);
      const expected = new Float32Array(m * n);
      a.gelu(plain, expected, form);
      const fused = new Float32Array(m * n);
      a.gemm(x, [], w, [], fused, false, true, m, n, k, 1, 0, b, activation, 0, null);
      expect(Buffer.from(fused.buffer).equals(Buffer.from(expected.buffer)), `${m}x${n}x${k}`).toBe(true);
    }
  });
});
