/**
 * The one reader of the environment. Every FINETUNE_* variable (and the Hugging Face ones the hub
 * honours) is parsed here, once, into a typed object; modules take the field they need (or an
 * `Environment` passed in by a test) instead of reading process.env themselves. README.md lists
 * the same variables under "Configuration"; test/architecture.test.ts fails when a file outside
 * this one reads a FINETUNE_* variable.
 *
 * Values are validated here, so a typo (FINETUNE_THREADS=two) is one clear message that names the
 * variable, not a NaN three modules later.
 */

export type BackendChoice = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'native', 'wasm', 'cpu'];

/** Which fused WGSL kernels the webgpu backend uses (FINETUNE_WEBGPU_FUSED). */
export type WebGpuFused = 'on' | 'off' | 'ops' | 'optimizer';
export const WEBGPU_FUSED_CHOICES: readonly WebGpuFused[] = ['on', 'off', 'ops', 'optimizer'];

export interface Environment {
  /** FINETUNE_HOME: the data folder (runs, prepared datasets, finetune.db). */
  home: string | null;
  /** FINETUNE_BACKEND: force one training backend instead of the best available. */
  backend: BackendChoice | null;
  /** FINETUNE_NATIVE=off|0|false disables the native addon. */
  nativeDisabled: boolean;
  /** The raw FINETUNE_NATIVE value, for messages ("disabled by FINETUNE_NATIVE=off"). */
  nativeSwitch: string | null;
  /** FINETUNE_NATIVE_ADDON: an explicit path to finetune_native.node. */
  nativeAddon: string | null;
  /**
   * FINETUNE_NATIVE_GEMM: which GEMM the native kernels use (auto, blas, own, own-avx2...; default:
   * BLAS when present). The native backend validates it against its GEMM_MODES with its own message.
   */
  nativeGemm: string | null;
  /** FINETUNE_NATIVE_STRICT=1: the native build fails the install instead of warning (CI). */
  nativeStrict: boolean;
  /** FINETUNE_THREADS: worker threads for the native kernels (default: the machine's cores); the native backend validates it and names the variable. */
  threads: string | null;
  /** FINETUNE_HOST_FORWARD=off: the eval forward stays on tfjs ops instead of host arrays. */
  hostForwardDisabled: boolean;
  /** FINETUNE_PORT: the browser host's port (default: a free one); --port wins. */
  port: number | null;
  /** FINETUNE_SERVE_BANNER: one line the browser host prints before its URL (npm start's fallback). */
  serveBanner: string | null;
  /** FINETUNE_SQLITE_BINDING: better_sqlite3.node built for Electron's ABI (npm start sets it). */
  sqliteBinding: string | null;
  /** FINETUNE_CLI_ENTRY=1: run the CLI's main even when imported (the bundled bin shim). */
  cliEntry: boolean;
  /** FINETUNE_TEST_BACKEND: the backend the engine tests run on (scripts/test.mjs sets it). */
  testBackend: BackendChoice | null;
  /**
   * FINETUNE_WEBGPU_FUSED: the webgpu backend's fused WGSL kernels: on (default), off (tfjs op
   * chains only), ops (GELU, layer norm, softmax, dropout only), optimizer (AdamW and the norm only).
   */
  webgpuFused: WebGpuFused;
}

export class EnvironmentError extends Error {
  readonly code = 'bad-environment';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'EnvironmentError';
  }
}

function text(env: NodeJS.ProcessEnv, name: string): string | null {
  const v = env[name]?.trim();
  return v ? v : null;
}

function flag(env: NodeJS.ProcessEnv, name: string, on: readonly string[]): boolean {
  const v = text(env, name)?.toLowerCase();
  return v !== undefined && v !== null && on.includes(v);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, max: number): number | null {
  const v = text(env, name);
  if (v === null) return null;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new EnvironmentError(name, `expected a whole number from 1 to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function backendChoice(env: NodeJS.ProcessEnv, name: string): BackendChoice | null {
  const v = text(env, name);
  if (v === null) return null;
  if (!(BACKEND_CHOICES as readonly string[]).includes(v)) throw new EnvironmentError(name, `unknown backend ${JSON.stringify(v)}; choose one of ${BACKEND_CHOICES.join(', ')}`);
  return v as BackendChoice;
}

function webgpuFused(env: NodeJS.ProcessEnv, name: string): WebGpuFused {
  const v = text(env, name)?.toLowerCase() ?? 'on';
  if (!(WEBGPU_FUSED_CHOICES as readonly string[]).includes(v)) throw new EnvironmentError(name, `expected one of ${WEBGPU_FUSED_CHOICES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as WebGpuFused;
}

/** Parses an environment (process.env by default). Throws EnvironmentError naming a bad variable. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    home: text(env, 'FINETUNE_HOME'),
    backend: backendChoice(env, 'FINETUNE_BACKEND'),
    nativeDisabled: flag(env, 'FINETUNE_NATIVE', ['off', '0', 'false']),
    nativeSwitch: text(env, 'FINETUNE_NATIVE'),
    nativeAddon: text(env, 'FINETUNE_NATIVE_ADDON'),
    nativeGemm: text(env, 'FINETUNE_NATIVE_GEMM'),
    nativeStrict: flag(env, 'FINETUNE_NATIVE_STRICT', ['1', 'true', 'on']),
    threads: text(env, 'FINETUNE_THREADS'),
    hostForwardDisabled: flag(env, 'FINETUNE_HOST_FORWARD', ['off', '0', 'false']),
    port: positiveInt(env, 'FINETUNE_PORT', 65535),
    serveBanner: text(env, 'FINETUNE_SERVE_BANNER'),
    sqliteBinding: text(env, 'FINETUNE_SQLITE_BINDING'),
    cliEntry: flag(env, 'FINETUNE_CLI_ENTRY', ['1', 'true']),
    testBackend: backendChoice(env, 'FINETUNE_TEST_BACKEND'),
    webgpuFused: webgpuFused(env, 'FINETUNE_WEBGPU_FUSED'),
  };
}

let cached: Environment | null = null;

/** This process's environment, parsed once. */
export function environment(): Environment {
  cached ??= readEnvironment(process.env);
  return cached;
}
