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
import { APP_ORIGIN } from './security-policy';

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

/**
 * Chromium switches for WebGPU in Electron, per platform: on Linux WebGPU is behind
 * --enable-unsafe-webgpu and needs Vulkan (a software adapter, SwiftShader, only when asked for,
 * as FINETUNE_BACKEND=webgpu asks); macOS and Windows have it on. Untested in real Electron here:
 * the same flags give Debian's Chromium its adapter (test/engine-window/engine-window.test.ts).
 */
export function webGpuSwitches(platform: string, allowSoftware: boolean): [string, string?][] {
  if (platform !== 'linux') return [];
  const switches: [string, string?][] = [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']];
  if (allowSoftware) switches.push(['use-webgpu-adapter', 'swiftshader'], ['use-vulkan', 'swiftshader']);
  return switches;
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

/**
 * Whether Electron's main opens an engine window for a job it sends to an engine worker: only a
 * training run that asks for WebGPU by name (its backend, recorded for a resumed run, or
 * FINETUNE_BACKEND=webgpu); no GPU window is opened for anything else. The worker then trains in
 * it (engine/window-route.ts). Left for later: a run with no backend named on a machine whose
 * WebGPU probe found a real adapter (features/gpu-probe.ts's answer is not plumbed to main yet);
 * such a run trains as before, on the backend its worker starts.
 */
export function engineWindowWanted(job: EngineWindowJob, forced: string | null): boolean {
  return job.kind === 'train' && (job.backend ?? forced) === 'webgpu';
}
