/**
 * The engine window's rules as plain data and functions (no electron import), so tests can hold
 * them: a hidden, sandboxed window with no Node, no preload API beyond the port hand-off, that
 * shows exactly one page of ours, opens nothing, navigates nowhere and gets no permission.
 * src/main/engine-window.ts applies them.
 *
 * Why a window: Electron's main and utility processes have no navigator.gpu and Dawn's Node
 * binding cannot load there (Electron forbids external ArrayBuffers); Chromium's WebGPU exists in
 * renderer processes. The engine's model and optimizer live in this window while files stay in
 * the utility process, which talks to it over a MessagePort (src/main/engine/window-protocol.ts).
 */
import type { WebGpuStatus } from '../shared/types';
import type { AdapterAnswer } from './engine/window-protocol';
import { chromiumAdapterName, SOFTWARE_ADAPTER } from './engine/webgpu/adapter-name';
import { LINUX_WEBGPU_HINT, WEBGPU_FLAG } from '../shared/engine-window';
import { APP_ORIGIN } from './security-policy';
import { WINDOW_JOB_KINDS } from './engine/window-route';

/** The page, served by the app:// handler from out/renderer/engine-window/. */
export const ENGINE_WINDOW_URL = `${APP_ORIGIN}/engine-window/index.html`;

/** The webPreferences of the engine window (Electron's WebPreferences, the fields set here). */
export interface EngineWebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  spellcheck: false;
  navigateOnDragDrop: false;
  /** A hidden window is throttled by default: its timers and promise callbacks would slow training. */
  backgroundThrottling: false;
  devTools: boolean;
}

export interface EngineWindowOptions {
  show: false;
  width: number;
  height: number;
  skipTaskbar: true;
  focusable: false;
  title: string;
  webPreferences: EngineWebPreferences;
}

/** The BrowserWindow options: never shown, no Node, the preload that only hands over the port. */
export function engineWindowOptions(preload: string, options: { devTools?: boolean } = {}): EngineWindowOptions {
  return {
    show: false,
    width: 320,
    height: 200,
    skipTaskbar: true,
    focusable: false,
    title: 'Finetune Studio engine',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      backgroundThrottling: false,
      devTools: options.devTools ?? false,
    },
  };
}

/** The only URL the engine window may show (its own page; no query, no fragment, no credentials). */
export function isEngineWindowUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.href === ENGINE_WINDOW_URL && !u.username && !u.password;
}

/** Navigation and redirects: only to its own page (a reload); anything else is refused. */
export function allowEngineNavigation(url: string): boolean {
  return isEngineWindowUrl(url);
}

/** window.open and target=_blank: never (the engine window opens nothing, not even in the browser). */
export function allowEngineWindowOpen(_url: string): false {
  return false;
}

/** Permission requests and checks (camera, notifications, clipboard...): none. WebGPU needs none. */
export function allowEnginePermission(_permission: string): false {
  return false;
}

export { LINUX_WEBGPU_HINT, WEBGPU_FLAG };

/**
 * Whether main sets Chromium's WebGPU switches, from its command line and FINETUNE_BACKEND:
 * `--webgpu` asks for the real GPU; `--webgpu=software` or FINETUNE_BACKEND=webgpu (CI, tests) also
 * accept SwiftShader (which then is the adapter Chromium gives, GPU or not). Elsewhere than Linux
 * the switches are empty anyway (webGpuSwitches).
 */
export function webGpuOptIn(argv: readonly string[], forced: string | null): { on: boolean; software: boolean } {
  const software = argv.includes(`${WEBGPU_FLAG}=software`) || forced === 'webgpu';
  return { on: software || argv.includes(WEBGPU_FLAG), software };
}

/**
 * Chromium switches for WebGPU in Electron, per platform: on Linux WebGPU is behind
 * --enable-unsafe-webgpu and needs Vulkan (a software adapter, SwiftShader, only when asked for);
 * macOS and Windows have it on without switches. The switches apply to every renderer (the main
 * window composites through Vulkan too), so on Linux they are opt-in (webGpuOptIn). Untested in
 * real Electron here: the same flags give Debian's Chromium its adapter
 * (test/engine-window/engine-window.test.ts).
 */
export function webGpuSwitches(platform: string, allowSoftware: boolean): [string, string?][] {
  if (platform !== 'linux') return [];
  const switches: [string, string?][] = [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']];
  if (allowSoftware) switches.push(['use-webgpu-adapter', 'swiftshader'], ['use-vulkan', 'swiftshader']);
  return switches;
}

/** A name for people from the engine window's adapter info ("NVIDIA ampere via WebGPU (Chromium)"). */
export function adapterLabel(a: Extract<AdapterAnswer, { ok: true }>): string {
  return `${chromiumAdapterName(a)} via WebGPU (Chromium)`;
}

/**
 * systemInfo's WebGPU status from the engine window's 'adapter' answer (the probe in Electron,
 * where Dawn cannot run in the utility process): a real adapter is 'found'; a fallback or
 * software one (SwiftShader) 'software-only'; none says why and, on Linux without the opt-in,
 * how to turn WebGPU on.
 */
export function adapterStatus(answer: AdapterAnswer, host: { platform: string; webGpuOn: boolean }): WebGpuStatus {
  if (answer.ok) {
    const label = adapterLabel(answer);
    const software = answer.isFallbackAdapter || SOFTWARE_ADAPTER.test(`${answer.description} ${answer.vendor} ${answer.architecture} ${answer.device}`);
    return software ? { state: 'software-only', label } : { state: 'found', label };
  }
  if (answer.why === 'failed') return { state: 'probe-failed', reason: answer.reason };
  if (host.platform === 'linux' && !host.webGpuOn) return { state: 'no-adapter', reason: `WebGPU is off: ${LINUX_WEBGPU_HINT}` };
  return { state: 'no-adapter', reason: answer.reason };
}

/** What the main process tells the utility process about its engine window. */
export type EngineWindowNotice =
  /** Sent with the port (in the message's ports). */
  | { type: 'engine-port' }
  /** The window's renderer died (crash, out of memory, killed): its calls fail; the run should stop, saying so. */
  | { type: 'engine-window-gone'; reason: string };

/** A message for the person when the engine window's renderer is gone (Electron's render-process-gone reason). */
export function engineWindowGoneMessage(reason: string, exitCode: number): string {
  const why = reason === 'oom' ? 'ran out of memory' : reason === 'crashed' ? 'crashed' : reason === 'killed' ? 'was killed' : `ended (${reason})`;
  return `The GPU engine window ${why} (exit code ${exitCode}). Try a smaller batch size or maximum length, or train on the CPU.`;
}

/** The parts of an engine job that decide whether it needs the engine window. */
export interface EngineWindowJob {
  kind: string;
  backend?: string | null;
}

/** What main knows when it decides: FINETUNE_BACKEND, the window's WebGPU answer (null while probing) and the worker's own best backend. */
export interface EngineWindowDecision {
  forced: string | null;
  gpu: WebGpuStatus | null;
  /** probeBackend()'s choice in the worker: tfjs-node-gpu (CUDA) stays first when it loads. */
  localBackend?: string | null;
}

/**
 * Whether Electron's main opens an engine window for a job it sends to an engine worker: only a
 * job that runs a model (training, predictions, batch prediction, the try-it box:
 * engine/window-route.ts WINDOW_JOB_KINDS), and only when it asks for WebGPU by name (its backend,
 * recorded for a resumed run, or FINETUNE_BACKEND=webgpu; a software adapter is then accepted), or
 * names no backend at all and main's probe window found a real (non-fallback) adapter
 * (adapterStatus 'found'), unless tfjs-node-gpu would run it. The worker then runs the model in the
 * window (engine/window-route.ts, which refuses a software adapter for a job with no backend
 * named) and the job records its adapter. Without a window, the worker's automatic choice skips
 * Dawn (window-route.ts localBackendPlan): a job with no backend named runs on native/wasm/cpu.
 */
export function engineWindowWanted(job: EngineWindowJob, decision: EngineWindowDecision): boolean {
  if (!(WINDOW_JOB_KINDS as readonly string[]).includes(job.kind)) return false;
  const named = job.backend ?? decision.forced;
  if (named) return named === 'webgpu';
  return decision.gpu?.state === 'found' && decision.localBackend !== 'tensorflow-gpu';
}
