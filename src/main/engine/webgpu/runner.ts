/**
 * Runs the engine's own WGSL compute shaders on tfjs-backend-webgpu's device, in its command
 * stream: the same command encoder and compute pass as tfjs' kernels, so a fused kernel costs one
 * dispatch and no extra submission, and tfjs' ordering (uploads, disposal after submit) holds.
 *
 * A shader is compiled once per source text (the pipeline cache is keyed by it). Its bindings
 * are tfjs tensors' GPU buffers in the order the shader declares them (@binding(0), 1, ...), then
 * an optional uniform buffer made by the backend (released after the submit, as tfjs' own).
 * Reads and writes are whatever the shader declares: `var<storage, read_write>` writes in place.
 *
 * This reaches into WebGPUBackend's members (tensorMap, uploadToGPU, makeUniforms, the encoder
 * and pass): tfjs-backend-webgpu 4.22's, checked at construction so a changed tfjs says so.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The members of tfjs' WebGPUBackend this file uses. */
interface BackendInternals {
  device: {
    createShaderModule(d: { code: string }): unknown;
    createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): PipelineLike;
    createBindGroup(d: { layout: unknown; entries: { binding: number; resource: unknown }[] }): unknown;
  };
  tensorMap: { get(dataId: object): { resource?: unknown; refCount: number } | undefined };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  makeUniforms(u: { type: 'float32' | 'int32' | 'uint32'; data: number[] }[]): { offset: number; size: number; buffer: unknown };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { beginComputePass(d: object): PassLike } | null;
  computePassEncoder: PassLike | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
}

interface PipelineLike {
  getBindGroupLayout(i: number): unknown;
}

interface PassLike {
  setPipeline(p: PipelineLike): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

export type Uniform = { type: 'float32' | 'int32' | 'uint32'; data: number[] };

/** Fused dispatches recorded since start (bench/webgpu-bench.mjs adds them to tfjs' kernel runs). */
let dispatchCount = 0;
export function fusedDispatches(): number {
  return dispatchCount;
}

/** The most workgroups one dimension may have (WebGPU's default limit). */
export const MAX_WORKGROUPS = 65535;

export class WgslRunner {
  private readonly pipelines = new Map<string, PipelineLike>();
  readonly backend: BackendInternals;

  constructor(backend: tf.KernelBackend) {
    const b = backend as unknown as BackendInternals;
    for (const member of ['uploadToGPU', 'makeUniforms', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'submitQueue'] as const) {
      if (typeof b[member] !== 'function') {
        throw new Error(`the fused WebGPU kernels need tfjs-backend-webgpu's ${member} (4.22); this tfjs has none: turn them off with the stock op chains`);
      }
    }
    if (!b.tensorMap || !b.device) throw new Error('the fused WebGPU kernels need tfjs-backend-webgpu 4.22 (tensorMap and device not found)');
    this.backend = b;
  }

  private pipeline(code: string): PipelineLike {
    let p = this.pipelines.get(code);
    if (!p) {
      const d = this.backend.device;
      p = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: 'main' } });
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** Whether no other tensor shares t's data (then a kernel may write it in place). */
  soleOwner(t: tf.TensorInfo): boolean {
    return this.backend.tensorMap.get(t.dataId)?.refCount === 1;
  }

  /**
   * After a kernel wrote t's buffer in place: drops the values tfjs cached on the CPU when t was
   * last read (read() returns those without looking at the GPU), so the next read sees the write.
   */
  wroteInPlace(t: tf.TensorInfo): void {
    const data = this.backend.tensorMap.get(t.dataId) as { values?: unknown } | undefined;
    if (data) data.values = null;
  }

  /** A new float32 tensor's storage on the GPU (uninitialised): a kernel's output. */
  output(shape: number[]): tf.TensorInfo {
    const info = this.backend.makeTensorInfo(shape, 'float32');
    this.backend.uploadToGPU(info.dataId);
    return info;
  }

  /**
   * Records one dispatch of `code` with `tensors` bound at 0..n-1 and `uniforms` (when given) at
   * n. Every binding must be used by the shader ('auto' layout drops unused ones).
   */
  dispatch(code: string, tensors: tf.TensorInfo[], uniforms: Uniform[] | null, workgroups: [number, number?, number?]): void {
    const b = this.backend;
    const pipeline = this.pipeline(code);
    const entries: { binding: number; resource: unknown }[] = tensors.map((t, i) => {
      b.uploadToGPU(t.dataId);
      const data = b.tensorMap.get(t.dataId);
      if (!data?.resource) throw new Error('a fused WebGPU kernel was given a tensor with no GPU buffer (disposed?)');
      return { binding: i, resource: { buffer: data.resource } };
    });
    if (uniforms) entries.push({ binding: tensors.length, resource: b.makeUniforms(uniforms) });
    const bindGroup = b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    for (const t of tensors) b.commandQueueOwnedIds.add(t.dataId);
    b.ensureCommandEncoderReady();
    if (!b.computePassEncoder) b.computePassEncoder = b.commandEncoder!.beginComputePass({});
    const pass = b.computePassEncoder;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    dispatchCount++;
    b.dispatchCountInPass++;
    if (b.dispatchCountInPass >= Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'))) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
  }
}

/** Workgroups for `n` threads of `size` each, split over x and y past the per-dimension limit. */
export function grid(n: number, size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= MAX_WORKGROUPS) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS);
  return [Math.ceil(groups / y), y];
}

/** The flat thread index for a grid() dispatch (in WGSL, with `wg` the workgroup size). */
export function flatIndex(wg: number): string {
  return `(gid.y * nwg.x * ${wg}u + gid.x)`;
}
