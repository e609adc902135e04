/**
 * The WebGPU device and backend on this machine's adapter. CI has no GPU: Mesa's llvmpipe through
 * Dawn's OpenGL ES backend is the software adapter it uses (allowed only when forced, as here).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describeAdapterInfo, DeviceErrors, openWebGpu, type GPUDeviceLike } from '../../src/main/engine/webgpu/device';
import { startWebGpuBackend } from '../../src/main/engine/webgpu/backend';

describe('webgpu device', () => {
  it('refuses a software adapter unless allowed, naming what it found', async () => {
    const r = await openWebGpu({ allowSoftware: false });
    if (r.ok) {
      // A machine with a real GPU: the adapter must not be a software one.
      expect(r.report.software).toBe(false);
    } else {
      expect(r.reason).toMatch(/no usable WebGPU adapter|could not be loaded/);
    }
  });

  it('matmul and softmax equal the cpu backend; the buffer pool trims', async () => {
    const started = await startWebGpuBackend({ allowSoftware: true });
    if (!started.ok) throw new Error(`no WebGPU adapter on this machine: ${started.reason}`);
    expect(tf.getBackend()).toBe('webgpu');
    expect(started.handle.report.label).toMatch(/ via /);
    const a = tf.randomNormal([64, 96], 0, 1, 'float32', 1);
    const b = tf.randomNormal([96, 32], 0, 1, 'float32', 2);
    const gpu = await tf.softmax(tf.matMul(a, b)).data();
    const av = await a.data();
    const bv = await b.data();
    await tf.setBackend('cpu');
    const cpu = tf.softmax(tf.matMul(tf.tensor(av, [64, 96]), tf.tensor(bv, [96, 32]))).dataSync();
    let max = 0;
    for (let i = 0; i < cpu.length; i++) max = Math.max(max, Math.abs(cpu[i]! - gpu[i]!));
    expect(max).toBeLessThan(1e-5);
    await tf.setBackend('webgpu');
    const before = started.handle.poolBytes().allocated;
    const freed = started.handle.trimPool();
    expect(started.handle.poolBytes().allocated).toBe(before - freed);
  });
});

describe('device errors', () => {
  it('turns uncapturederror events into one thrown error, then clears', () => {
    let listener: ((e: { error: { message: string } }) => void) | null = null;
    const device = { addEventListener: (_t: string, l: typeof listener) => (listener = l) } as unknown as GPUDeviceLike;
    const errors = new DeviceErrors(device);
    expect(() => errors.throwIfAny()).not.toThrow();
    listener!({ error: { message: 'Binding index 9 exceeds maxStorageBuffersPerShaderStage' } });
    listener!({ error: { message: 'second' } });
    expect(() => errors.throwIfAny()).toThrow(/GPU reported an error \(WebGPU\): Binding index 9.*\(and 1 more\)/);
    expect(() => errors.throwIfAny()).not.toThrow();
  });

  it('addN over many tensors is right on webgpu (the engine sums gradients with it)', async () => {
    const started = await startWebGpuBackend({ allowSoftware: true });
    if (!started.ok) throw new Error(started.reason);
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([5], i + 1));
    const sum = await tf.addN(xs).data();
    started.handle.errors.throwIfAny();
    expect(Array.from(sum)).toEqual([210, 210, 210, 210, 210]);
  });
});

describe('adapter names', () => {
  it('spells out a known vendor\'s device (as Dawn reported it on an H200) and flags software rasterisers', () => {
    const h200 = describeAdapterInfo({ vendor: 'nvidia', architecture: '', device: 'nvidia-h200', description: 'NVIDIA: 580.159.04 580.159.4.0' }, 'vulkan');
    expect(h200.label).toBe('NVIDIA H200 via Vulkan');
    expect(h200.software).toBe(false);
    const mesa = describeAdapterInfo({ vendor: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' }, 'opengles');
    expect(mesa.software).toBe(true);
    expect(mesa.label).toMatch(/via OpenGL ES$/);
  });
});
