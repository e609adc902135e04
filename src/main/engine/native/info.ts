/**
 * What the native kernels would run with, for systemInfo, the CLI and the bench. Loading the
 * addon here is cheap and registers nothing.
 */
import { loadNativeAddon, type GemmName } from './addon';

export interface NativeInfo {
  available: boolean;
  /** Why the addon is unavailable ("native kernels unavailable: ..."), or null. */
  reason: string | null;
  addonPath: string | null;
  /** Active GEMM path (after registerNativeBackend applied its options), or null. */
  gemm: GemmName | null;
  threads: number | null;
  defaultThreads: number | null;
  threadSource: string | null;
  blas: { name: string; path: string; detail: string } | null;
  /** Why no BLAS is used when none was found (each library tried), or null. */
  blasError: string | null;
  /** Own kernels this build and CPU can run, best first. */
  ownKernels: GemmName[];
  /** One line for people: "OpenBLAS 0.3.21 ... , 2 threads" or the reason. */
  summary: string;
}

const GEMM_LABELS: Record<GemmName, string> = {
  openblas: 'OpenBLAS',
  blis: 'BLIS',
  accelerate: 'Apple Accelerate',
  'own-avx512': 'own AVX-512 kernel',
  'own-avx2': 'own AVX2 kernel',
  'own-neon': 'own NEON kernel',
  'own-scalar': 'own portable kernel',
};

export function gemmLabel(gemm: GemmName): string {
  return GEMM_LABELS[gemm];
}

export function nativeInfo(env: NodeJS.ProcessEnv = process.env): NativeInfo {
  const load = loadNativeAddon(env);
  if (!load.ok) {
    const reason = `native kernels unavailable: ${load.reason}`;
    return {
      available: false,
      reason,
      addonPath: null,
      gemm: null,
      threads: null,
      defaultThreads: null,
      threadSource: null,
      blas: null,
      blasError: null,
      ownKernels: [],
      summary: reason,
    };
  }
  const i = load.addon.info();
  const blas = i.blas ? { name: i.blas, path: i.blasPath ?? '', detail: i.blasDetail ?? '' } : null;
  return {
    available: true,
    reason: null,
    addonPath: load.path,
    gemm: i.gemm,
    threads: i.threads,
    defaultThreads: i.defaultThreads,
    threadSource: i.threadSource,
    blas,
    blasError: i.blasError,
    ownKernels: i.ownKernels,
    summary: `matmul on ${gemmLabel(i.gemm)}, ${i.threads} thread${i.threads === 1 ? '' : 's'}`,
  };
}
