import { describe, expect, it } from 'vitest';
import {
  allowEngineNavigation,
  allowEnginePermission,
  allowEngineWindowOpen,
  ENGINE_WINDOW_URL,
  engineWindowGoneMessage,
  engineWindowOptions,
  engineWindowWanted,
  isEngineWindowUrl,
  adapterStatus,
  WEBGPU_FLAG,
  webGpuOptIn,
  webGpuSwitches,
} from '../../src/main/engine-window-policy';
import { windowWithoutWebGpu } from '../../src/main/engine/window-route';
import { webGpuNote } from '../../src/main/features/gpu-probe';
import type { WebGpuStatus } from '../../src/shared/types';

describe('engine window options', () => {
  const o = engineWindowOptions('/app/out/preload/engine.cjs');

  it('is never shown and never takes focus', () => {
    expect(o.show).toBe(false);
    expect(o.focusable).toBe(false);
    expect(o.skipTaskbar).toBe(true);
  });

  it('is sandboxed, context-isolated, without Node anywhere, with only its own preload', () => {
    const w = o.webPreferences;
    expect(w).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webviewTag: false, webSecurity: true, allowRunningInsecureContent: false });
    expect(w.preload).toBe('/app/out/preload/engine.cjs');
    expect(w.devTools).toBe(false);
    expect(engineWindowOptions('/p', { devTools: true }).webPreferences.devTools).toBe(true);
  });

  it('is not throttled while hidden (training runs in it)', () => {
    expect(o.webPreferences.backgroundThrottling).toBe(false);
  });
});

describe('engine window URLs', () => {
  it('shows exactly its own page on the app scheme', () => {
    expect(ENGINE_WINDOW_URL).toBe('app://finetune/engine-window/index.html');
    expect(isEngineWindowUrl(ENGINE_WINDOW_URL)).toBe(true);
    expect(allowEngineNavigation(ENGINE_WINDOW_URL)).toBe(true);
  });

  it.each([
    'app://finetune/index.html',
    'app://finetune/engine-window/index.html?x=1',
    'app://finetune/engine-window/index.html#frag',
    'app://finetune/engine-window/../index.html',
    'app://finetune/engine-window/',
    'app://user:pass@finetune/engine-window/index.html',
    'app://evil/engine-window/index.html',
    'http://127.0.0.1:5173/engine-window/index.html',
    'https://evil.example/engine-window/index.html',
    'file:///app/out/renderer/engine-window/index.html',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'about:blank',
    'chrome://gpu',
    '',
    'not a url',
  ])('refuses %s', (url) => {
    expect(isEngineWindowUrl(url)).toBe(false);
    expect(allowEngineNavigation(url)).toBe(false);
  });

  it('opens no windows and grants no permission', () => {
    expect(allowEngineWindowOpen(ENGINE_WINDOW_URL)).toBe(false);
    expect(allowEngineWindowOpen('https://huggingface.co/')).toBe(false);
    for (const p of ['media', 'notifications', 'clipboard-read', 'geolocation', 'fullscreen', 'openExternal', 'hid', 'usb', 'serial']) expect(allowEnginePermission(p)).toBe(false);
  });
});

describe('WebGPU switches', () => {
  it('on Linux: unsafe WebGPU over Vulkan; SwiftShader only when a software adapter is allowed', () => {
    expect(webGpuSwitches('linux', false)).toEqual([['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']]);
    expect(webGpuSwitches('linux', true).map((s) => s[0])).toEqual(['enable-unsafe-webgpu', 'enable-features', 'use-webgpu-adapter', 'use-vulkan']);
  });

  it('elsewhere: none', () => {
    expect(webGpuSwitches('darwin', true)).toEqual([]);
    expect(webGpuSwitches('win32', false)).toEqual([]);
  });
});

describe('engine window gone', () => {
  it('says what happened and what to do', () => {
    expect(engineWindowGoneMessage('oom', 137)).toMatch(/ran out of memory.*smaller batch size/);
    expect(engineWindowGoneMessage('crashed', 1)).toMatch(/crashed \(exit code 1\)/);
    expect(engineWindowGoneMessage('abnormal-exit', 2)).toMatch(/ended \(abnormal-exit\)/);
  });
});

describe('when main opens an engine window', () => {
  const found: WebGpuStatus = { state: 'found', label: 'NVIDIA ampere via WebGPU (Chromium)' };
  const software: WebGpuStatus = { state: 'software-only', label: 'google swiftshader via WebGPU (Chromium)' };
  const d = (forced: string | null, gpu: WebGpuStatus | null, localBackend: string | null = 'native') => ({ forced, gpu, localBackend });

  it('a training run that asks for WebGPU by name (its backend, or FINETUNE_BACKEND), whatever the probe said', () => {
    expect(engineWindowWanted({ kind: 'train', backend: 'webgpu' }, d(null, null))).toBe(true);
    expect(engineWindowWanted({ kind: 'train', backend: 'webgpu' }, d(null, software))).toBe(true);
    expect(engineWindowWanted({ kind: 'train' }, d('webgpu', { state: 'not-asked', reason: 'forced' }))).toBe(true);
    expect(engineWindowWanted({ kind: 'train', backend: 'cpu' }, d('webgpu', found))).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, d('native', found))).toBe(false);
    for (const kind of ['benchmark', 'probe-webgpu', 'count-tokens', 'baseline']) expect(engineWindowWanted({ kind, backend: 'webgpu' }, d('webgpu', found)), kind).toBe(false);
  });

  it('predictions, batch prediction and the try-it box get a window by the same rule as training', () => {
    for (const kind of ['predict', 'predict-file', 'serve']) {
      expect(engineWindowWanted({ kind, backend: 'webgpu' }, d(null, null)), kind).toBe(true);
      expect(engineWindowWanted({ kind }, d('webgpu', { state: 'not-asked', reason: 'forced' })), kind).toBe(true);
      expect(engineWindowWanted({ kind }, d(null, found)), kind).toBe(true);
      expect(engineWindowWanted({ kind }, d(null, software)), kind).toBe(false);
      expect(engineWindowWanted({ kind }, d(null, null)), kind).toBe(false);
      expect(engineWindowWanted({ kind, backend: 'cpu' }, d(null, found)), kind).toBe(false);
      expect(engineWindowWanted({ kind }, d('native', found)), kind).toBe(false);
      expect(engineWindowWanted({ kind }, d(null, found, 'tensorflow-gpu')), kind).toBe(false);
    }
  });

  it('a run with no backend named: only when the probe window found a real adapter (GPU training is the default)', () => {
    expect(engineWindowWanted({ kind: 'train' }, d(null, found))).toBe(true);
    expect(engineWindowWanted({ kind: 'train', backend: null }, d(null, found))).toBe(true);
    expect(engineWindowWanted({ kind: 'train' }, d(null, software))).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, d(null, null))).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, d(null, { state: 'probing' }))).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, d(null, { state: 'no-adapter', reason: 'x' }))).toBe(false);
    // tfjs-node-gpu (CUDA) stays first, as systemInfo says.
    expect(engineWindowWanted({ kind: 'train' }, d(null, found, 'tensorflow-gpu'))).toBe(false);
    expect(engineWindowWanted({ kind: 'benchmark' }, d(null, found))).toBe(false);
  });
});

describe("the probe window's adapter answer as systemInfo's status", () => {
  const gpu = { ok: true as const, vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3060', isFallbackAdapter: false };
  it('a real adapter is found, named for people', () => {
    expect(adapterStatus(gpu, { platform: 'linux', webGpuOn: true })).toEqual({ state: 'found', label: 'NVIDIA GeForce RTX 3060 via WebGPU (Chromium)' });
    expect(adapterStatus({ ...gpu, description: '' }, { platform: 'darwin', webGpuOn: false })).toEqual({ state: 'found', label: 'nvidia ampere via WebGPU (Chromium)' });
  });
  it('a fallback adapter, or one named as software, is software-only', () => {
    expect(adapterStatus({ ...gpu, isFallbackAdapter: true }, { platform: 'linux', webGpuOn: true }).state).toBe('software-only');
    expect(adapterStatus({ ...gpu, vendor: 'google', architecture: 'swiftshader', description: '' }, { platform: 'linux', webGpuOn: true })).toEqual({
      state: 'software-only',
      label: 'google swiftshader via WebGPU (Chromium)',
    });
  });
  it('none: on Linux without the opt-in, says exactly how to turn it on; elsewhere the reason', () => {
    const none = { ok: false as const, why: 'no-navigator-gpu' as const, reason: 'this window has no navigator.gpu' };
    const linux = adapterStatus(none, { platform: 'linux', webGpuOn: false });
    expect(linux.state).toBe('no-adapter');
    expect(linux.state === 'no-adapter' && linux.reason).toContain(`npm start -- ${WEBGPU_FLAG}`);
    expect(adapterStatus(none, { platform: 'linux', webGpuOn: true })).toEqual({ state: 'no-adapter', reason: none.reason });
    expect(adapterStatus(none, { platform: 'win32', webGpuOn: false })).toEqual({ state: 'no-adapter', reason: none.reason });
    expect(adapterStatus({ ok: false, why: 'failed', reason: 'timeout' }, { platform: 'darwin', webGpuOn: false })).toEqual({ state: 'probe-failed', reason: 'timeout' });
    expect(webGpuNote(linux)).toContain(`--webgpu`);
  });
});

describe("Chromium's WebGPU switches are opt-in", () => {
  it('--webgpu: the real GPU; --webgpu=software or FINETUNE_BACKEND=webgpu: SwiftShader too; nothing: off', () => {
    expect(webGpuOptIn(['/usr/bin/electron', '.'], null)).toEqual({ on: false, software: false });
    expect(webGpuOptIn(['/usr/bin/electron', '.'], 'native')).toEqual({ on: false, software: false });
    expect(webGpuOptIn(['/usr/bin/electron', '.', '--webgpu'], null)).toEqual({ on: true, software: false });
    expect(webGpuOptIn(['electron', '--webgpu=software'], null)).toEqual({ on: true, software: true });
    expect(webGpuOptIn(['electron'], 'webgpu')).toEqual({ on: true, software: true });
    expect(webGpuSwitches('linux', false).map((s) => s[0])).toEqual(['enable-unsafe-webgpu', 'enable-features']);
  });
});

describe('a run on webgpu whose window has no WebGPU', () => {
  const bare = new Error("the engine window failed 'init': the engine window cannot train: this window has no navigator.gpu (WebGPU is off or unsupported in it)");
  it('fails saying what to do (Linux: the opt-in; elsewhere: the driver; a new run for the CPU)', () => {
    const linux = windowWithoutWebGpu(bare, 'linux') as Error;
    expect(linux.message).toContain('npm start -- --webgpu');
    expect(linux.message).toContain('no navigator.gpu');
    expect(linux.message).toMatch(/start a new run/);
    expect((windowWithoutWebGpu(bare, 'win32') as Error).message).toMatch(/update the driver/);
    const other = new Error("the engine window failed 'init': the model has no parameter x");
    expect(windowWithoutWebGpu(other, 'linux')).toBe(other);
    // A prediction job (predictions, batch prediction, the try-it box) that asked for WebGPU.
    const predict = windowWithoutWebGpu(bare, 'linux', 'predict') as Error;
    expect(predict.message).toMatch(/^These predictions ask for WebGPU, and the engine window has none \(.*no navigator\.gpu.*\)\. WebGPU is off in this app: .*npm start -- --webgpu.*; then try again\. Or predict on the CPU/);
    expect(predict.message).not.toMatch(/resume/);
    expect(windowWithoutWebGpu(other, 'linux', 'predict')).toBe(other);
  });
});
